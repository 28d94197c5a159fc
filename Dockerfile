# The digest application image: web, worker and beat run from it with different commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY constraints.txt pyproject.toml README.md ./
COPY digest ./digest
COPY workers ./workers
COPY templates ./templates
RUN pip install -c constraints.txt . && useradd --create-home digest

USER digest
WORKDIR /home/digest
EXPOSE 8000
CMD ["digest", "web", "--host", "0.0.0.0", "--port", "8000"]
