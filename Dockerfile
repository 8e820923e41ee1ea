# One image for the migrate, worker, beat and api services.
FROM python:3.11-slim
RUN useradd --create-home vigil
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY workers ./workers
COPY classifiers ./classifiers
COPY migrations ./migrations
RUN pip install --no-cache-dir .
USER vigil
