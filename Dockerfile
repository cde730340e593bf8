# syntax=docker/dockerfile:1
# One image for every meetnet service: docker-compose.yml picks the command
# (`meetnet migrate`, `ingest`, `api`, `simulate`, ...). Build: docker build -t meetnet .

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Everything goes into a virtual environment that the runtime stage copies whole, leaving the
# source tree and the build tooling behind.
RUN python -m venv /opt/meetnet
# Dependencies first, from pyproject.toml alone: this layer stays cached until they change,
# not at every edit of the code.
COPY pyproject.toml /src/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && /opt/meetnet/bin/pip install -r /tmp/requirements.txt
COPY . /src
RUN /opt/meetnet/bin/pip install --no-deps /src

FROM python:3.11-slim-bookworm
ENV PATH=/opt/meetnet/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# A fixed, unprivileged uid: a service that is broken into does not hold root in the container,
# and files it writes to a volume have a predictable owner.
RUN groupadd --system --gid 10001 meetnet \
 && useradd --system --uid 10001 --gid meetnet --create-home --home-dir /home/meetnet \
            --shell /usr/sbin/nologin meetnet
COPY --from=build /opt/meetnet /opt/meetnet
USER meetnet
WORKDIR /home/meetnet
# State of `meetnet demo` (embedded PostgreSQL, broker); the compose services keep none here.
ENV MEETNET_DATA_DIR=/home/meetnet/data
EXPOSE 8000
ENTRYPOINT ["meetnet"]
CMD ["--help"]
