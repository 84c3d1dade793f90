# The API and worker image (docker-compose.yml runs it twice with different commands).
FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml constraints.txt alembic.ini ./
COPY alembic ./alembic
COPY backend ./backend
RUN pip install --no-cache-dir -c constraints.txt . \
    && python -m backend assets
EXPOSE 8000
# No `server: uvicorn` header; X-Forwarded-For only through TRUSTED_PROXIES (see README).
CMD ["uvicorn", "backend.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-server-header", "--no-proxy-headers", "--ws-max-size", "1048576", "--http", "h11", "--h11-max-incomplete-event-size", "65536"]
