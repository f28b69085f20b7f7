# llmgw as a controller in the cluster: `llmgw sync --watch` (see docs/in-cluster.md).
# Minimal and standard: a slim Python base, llmgw installed from this checkout, run as non-root.
FROM python:3.12-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY llmgw ./llmgw
COPY templates ./templates
RUN pip install --no-cache-dir . && rm -rf /src
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin llmgw
USER 10001
WORKDIR /home/llmgw
ENTRYPOINT ["llmgw"]
CMD ["sync", "--watch", "--config", "/etc/llmgw/config.yaml", "--listen", ":8080", "--log-format", "json"]
