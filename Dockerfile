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
# The vigil-data volume mounts here: beat's schedule file and the rendered reports.
RUN mkdir /data && chown vigil:vigil /data
USER vigil
