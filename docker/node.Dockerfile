# A mesh node: BIRD 2 and tinc 1.0 from Debian 12, the same packages as the lab
# (scripts/install-deps.sh, groups mesh and tools). The entrypoint renders their configuration
# from the environment and runs both; the agent runs in its own container in this one's network
# and PID namespaces (docker/docker-compose.yml).
FROM debian:12-slim
COPY scripts/install-deps.sh /usr/local/sbin/install-deps.sh
RUN bash /usr/local/sbin/install-deps.sh mesh tools && rm -rf /var/lib/apt/lists/* \
 && groupadd -g 10179 bgpmesh
COPY docker/node-entrypoint.sh /usr/local/sbin/node-entrypoint.sh
VOLUME ["/etc/tinc", "/run/bird", "/run/tinc", "/var/log/tinc"]
ENTRYPOINT ["/usr/local/sbin/node-entrypoint.sh"]
CMD ["run"]
