# Tesla charge scheduler: one image for both the scheduler and the dashboard (see docker-compose.yml).
# The tag pins Python 3.11 and Debian bookworm; to pin the exact bytes too, append the digest that
# `docker buildx imagetools inspect python:3.11.17-slim-bookworm` prints (FROM python:...@sha256:...).
FROM python:3.11.17-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATE_DIR=/data

WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them. requirements.lock holds every
# package at the exact version the image gets (the direct ones and what they pull in): scripts/lock.sh remakes it.
COPY requirements.txt requirements.lock ./
RUN pip install --no-cache-dir -r requirements.txt -c requirements.lock

# An unprivileged user owns the state folder (tokens, history, caches); the code stays root-owned and read-only to it.
RUN groupadd --system --gid 10001 charge \
    && useradd --system --no-log-init --uid 10001 --gid charge --home-dir /data --shell /usr/sbin/nologin charge \
    && mkdir -p /data \
    && chown charge:charge /data \
    && chmod 0700 /data

# No secret comes in: .dockerignore keeps out .env, tokens, caches, credentials.json and the state folder.
COPY . .

USER 10001:10001

# 8050: dashboard; 8085: the one-time Google sign-in redirect (GOOGLE_OAUTH_PORT).
EXPOSE 8050 8085

# Reads the state file only: no API call, no car wake.
HEALTHCHECK --interval=5m --timeout=30s --start-period=20m --retries=3 \
    CMD ["python", "scheduler.py", "health"]

# Exec form: Python gets SIGTERM itself (compose adds `init: true` so it is not PID 1).
# `docker compose run --rm scheduler auth tesla` runs `python scheduler.py auth tesla`.
ENTRYPOINT ["python", "scheduler.py"]
CMD ["-v", "-i", "14"]
