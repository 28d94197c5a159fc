"""Small feed documents used by the ingest tests."""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Blog</title>
  <entry>
    <id>tag:blog.example.org,2026:1</id>
    <title type="html">Atom &lt;em&gt;entry&lt;/em&gt;</title>
    <link rel="alternate" href="/posts/1"/>
    <published>2026-03-01T09:00:00+01:00</published>
    <author><name>Jane Writer</name></author>
    <category term="science"/>
    <content type="html">&lt;p&gt;See &lt;a href="/relative/link"&gt;this&lt;/a&gt;.&lt;/p&gt;</content>
  </entry>
</feed>
"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
  <channel rdf:about="https://old.example.org/"><title>Old</title><link>https://old.example.org/</link></channel>
  <item rdf:about="https://old.example.org/item-1">
    <title>RSS 1.0 item</title><link>https://old.example.org/item-1</link>
    <description>An item.</description>
  </item>
</rdf:RDF>
"""

HOSTILE_RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>T</title>
<item>
  <title>&lt;script&gt;alert(1)&lt;/script&gt;Hi</title>
  <link>https://news.example.org/hostile</link>
  <description>&lt;p onclick="x()"&gt;Kept text &lt;strong&gt;bold&lt;/strong&gt;&lt;/p&gt;
  &lt;script&gt;alert(2)&lt;/script&gt;&lt;img src=x onerror=alert(3)&gt;
  &lt;a href="javascript:alert(4)"&gt;click&lt;/a&gt;&lt;iframe src="https://evil.example"&gt;&lt;/iframe&gt;
  &lt;style&gt;body{display:none}&lt;/style&gt;</description>
</item>
</channel></rss>
"""


def rss(*items: tuple[str, str, str], title: str = "Feed") -> bytes:
    """An RSS 2.0 document of (guid, link, title) items."""
    body = "".join(
        f"<item><guid>{g}</guid><link>{link}</link><title>{t}</title>"
        f"<description>About {t}.</description>"
        "<pubDate>Mon, 16 Mar 2026 08:00:00 GMT</pubDate></item>"
        for g, link, t in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()
