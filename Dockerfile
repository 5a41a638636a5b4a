# keras-lstm-opt worker image (CPU).
#   buildah build --isolation chroot -t keras-lstm-opt:cpu .
#   docker build -t keras-lstm-opt:cpu .
# GPU: --build-arg BASE=nvidia/cuda:12.5.1-cudnn-runtime-ubuntu22.04 --build-arg TF_EXTRA=and-cuda
# (TF_EXTRA=and-cuda installs tensorflow[and-cuda], which brings CUDA and cuDNN wheels)
# (the CUDA base needs python3.11 and python3.11-venv from its own packages).
# BASE: the official Python image by default; any Debian bookworm root with python3 works
# (the tests use a local debootstrap root, since no registry is reachable there).
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ARG TF_EXTRA=
ARG TF_VERSION=2.21.0
ARG KERAS_VERSION=3.15.1
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 VIRTUAL_ENV=/opt/klo PATH=/opt/klo/bin:$PATH

# python3 and venv where the base lacks them (a bare Debian root), and g++: FastLSTM
# compiles its fused CPU kernels for the CPU it runs on (built below for this build
# host's CPU; a node with another CPU rebuilds them once, in ~20 s, on first use)
RUN apt-get update && apt-get install -y --no-install-recommends g++ \
        $(python3 -c "import venv, ensurepip" 2>/dev/null || echo python3 python3-venv) \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/klo \
    && useradd --create-home --uid 10001 klo

# dependencies first (a layer that changes only when setup.cfg does), then the package
COPY setup.cfg pyproject.toml README.md /src/
# An optional build secret `pipca` (a CA bundle) serves networks whose HTTPS proxy has
# its own CA: --secret id=pipca,src=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=secret,id=pipca \
    if [ -f /run/secrets/pipca ]; then export PIP_CERT=/run/secrets/pipca; fi \
    && mkdir -p /src/keras_lstm_opt && touch /src/keras_lstm_opt/__init__.py \
    && pip install "tensorflow${TF_EXTRA:+[$TF_EXTRA]}==${TF_VERSION}" \
        "keras==${KERAS_VERSION}" /src \
    && pip uninstall -y keras-lstm-opt \
    && rm -rf /src/build /src/*.egg-info /src/keras_lstm_opt
# (setuptools' build/ would keep the placeholder __init__.py: it is newer than the real one)
COPY keras_lstm_opt /src/keras_lstm_opt
RUN --mount=type=secret,id=pipca \
    if [ -f /run/secrets/pipca ]; then export PIP_CERT=/run/secrets/pipca; fi \
    && pip install --no-deps /src && rm -rf /src

USER klo
WORKDIR /home/klo
RUN keras-lstm-opt build-kernels
ENTRYPOINT ["keras-lstm-opt"]
CMD ["--help"]
