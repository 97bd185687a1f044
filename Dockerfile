# spamgate: the service under gunicorn, as a non-root user, with the shipped model.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SPAMGATE_BIND=0.0.0.0:8000 \
    SPAMGATE_KEYS_FILE=/data/keys.json \
    SPAMGATE_DATA_DIR=/data \
    SPAMGATE_RULES_CACHE=/data/cache

RUN useradd --create-home --uid 10001 spamgate && mkdir /data && chown spamgate /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY spamgate ./spamgate
COPY model ./model
COPY training ./training
COPY service ./service
RUN pip install --no-cache-dir .

USER spamgate
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
# Redis comes from SPAMGATE_REDIS_URL (docker-compose.yml runs one); --no-redis: never start one here.
CMD ["spamgate", "serve", "--no-redis"]
