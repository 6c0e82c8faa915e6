# Lookout's own image: the prober exporter, the notification sink and the demo MCP server, built from this
# source tree (nothing is fetched from a Lookout release):
#   docker build -t lookout:0.1.0 .
# The tag must equal `images.lookout` in lookout.yaml (default lookout:<version>); docs/deployment.md has the
# kind and registry steps.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# console/runbooks is a link to docs/runbooks: the wheel takes the runbooks through it.
COPY docs/runbooks ./docs/runbooks
# The wheel of this tree only; its dependencies are resolved when the runtime stage installs it.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# A fixed non-root uid: the Kubernetes pods run as it, and compose's named volumes inherit its home's owner.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/lookout --create-home lookout
# The extras that bring the commands the stacks run: the exporter (probe), the stack's own services (stack: the
# console's dashboards), demo traffic (bench); the sink and the demo server need only cli, which each includes.
ARG LOOKOUT_EXTRAS=probe,stack,bench
COPY --from=build /wheels /wheels
# DL3013 asks for a version pin: the wheel file built above is that pin (hadolint cannot see a path with extras).
# hadolint ignore=DL3013
RUN wheel="$(echo /wheels/mcp_lookout-*.whl)" \
    && pip install --no-cache-dir "${wheel}[${LOOKOUT_EXTRAS}]" \
    && rm -rf /wheels
USER 10001
WORKDIR /var/lib/lookout
ENTRYPOINT ["lookout"]
CMD ["--help"]
