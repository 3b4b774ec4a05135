# etcd 3.4 from Debian 12, the same package as the lab (scripts/install-deps.sh, group etcd).
FROM debian:12-slim
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN bash /tmp/install-deps.sh etcd && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && (id etcd >/dev/null 2>&1 || useradd -r -d /var/lib/etcd -s /usr/sbin/nologin etcd) \
 && mkdir -p /var/lib/etcd && chown etcd:etcd /var/lib/etcd
USER etcd
VOLUME ["/var/lib/etcd"]
ENTRYPOINT ["etcd"]
