set -e
for n in capa capb; do ip netns del $n 2>/dev/null || true; ip netns add $n; ip -n $n link set lo up; done
ip link add cap-a type veth peer name cap-b
ip link set cap-a netns capa; ip link set cap-b netns capb
ip -n capa addr add 192.0.2.201/24 dev cap-a; ip -n capa addr add 2001:db8:ca::1/64 dev cap-a nodad
ip -n capb addr add 192.0.2.202/24 dev cap-b; ip -n capb addr add 2001:db8:ca::2/64 dev cap-b nodad
ip -n capa link set cap-a up; ip -n capb link set cap-b up
