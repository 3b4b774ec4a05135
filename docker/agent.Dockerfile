# bgpmesh-agent: a Swift build stage, then a slim Debian runtime with libcurl, running as an
# unprivileged user with only the capabilities its probes and tinc signals need.
ARG SWIFT_IMAGE=swift:6.3-bookworm
FROM ${SWIFT_IMAGE} AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/*
COPY Package.swift Package.resolved* Makefile ./
COPY Sources Sources
# The revision comes from the build argument (the context has no .git).
ARG REVISION=unknown
RUN echo "#define BGPMESH_REVISION \"${REVISION}\"" > Sources/CBuildInfo/revision.h \
 && swift build -c release --static-swift-stdlib --product bgpmesh-agent \
 && install -D -m 755 .build/release/bgpmesh-agent /out/bgpmesh-agent

FROM debian:12-slim
COPY scripts/install-deps.sh /tmp/install-deps.sh
COPY --from=build /out/bgpmesh-agent /usr/local/bin/bgpmesh-agent
# cap_net_raw: ICMP probes on a raw socket; cap_kill: HUP/ALRM/USR1/USR2 to tincd, which runs as
# root in the node container (shared PID namespace). Compose grants no others.
RUN bash /tmp/install-deps.sh agent-runtime \
 && setcap cap_net_raw,cap_kill+ep /usr/local/bin/bgpmesh-agent \
 && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && groupadd -g 10179 bgpmesh \
 && useradd -r -u 10179 -g bgpmesh -d /var/lib/bgpmesh -s /usr/sbin/nologin bgpmesh
USER 10179:10179
EXPOSE 10179
ENTRYPOINT ["/usr/local/bin/bgpmesh-agent"]
CMD ["run", "--config.file", "/etc/bgpmesh/agent.yml"]
