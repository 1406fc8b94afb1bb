#!/bin/bash
# The compose stack's broker (docker-compose.yml runs it in apache/kafka:4.1.1): SASL_SSL with
# SCRAM-SHA-512 and ACLs, as deploy/kafka/kafka.sh's secure mode does on one machine.
#
#   INTERNAL  kafka:19092      SASL_SSL, for the containers (worker, replay)
#   EXTERNAL  localhost:9092   SASL_SSL, for the host (published on 127.0.0.1 only)
#   CONTROLLER kafka:9093      TLS with client certificates: the broker itself (User:CN=kafka-broker)
#
# The secrets (`make secrets` writes them into ./secrets) come in as Docker secrets under /run/secrets:
# kafka_ca, kafka_broker_pem, kafka_<user>_password. The users (acls.sh: replay, worker, viewer, admin,
# and broker for the broker's own connections) are created when the data volume is formatted; their ACLs
# are added on every start, before the healthcheck passes. A password rotated since the volume was
# formatted is set again at start (kafka-configs as admin).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=acls.sh
. "$here/acls.sh"

bin=/opt/kafka/bin
run=/run/secrets
conf=/tmp/iran2009
data=/var/lib/kafka/data
internal=kafka:19092
mkdir -p "$conf"
chmod 700 "$conf"
umask 077

say() { echo "compose-kafka.sh: $*" >&2; }
password() { tr -d '\n' <"$run/kafka_$1_password"; }
jaas() { echo "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$1\" password=\"$(password "$1")\";"; }

cat >"$conf/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@kafka:9093
listeners=INTERNAL://:19092,CONTROLLER://:9093,EXTERNAL://:9092
advertised.listeners=INTERNAL://kafka:19092,EXTERNAL://localhost:9092
listener.security.protocol.map=INTERNAL:SASL_SSL,EXTERNAL:SASL_SSL,CONTROLLER:SSL
inter.broker.listener.name=INTERNAL
controller.listener.names=CONTROLLER
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.internal.scram-sha-512.sasl.jaas.config=$(jaas broker)
listener.name.external.scram-sha-512.sasl.jaas.config=$(jaas broker)
ssl.keystore.type=PEM
ssl.keystore.location=$run/kafka_broker_pem
ssl.truststore.type=PEM
ssl.truststore.location=$run/kafka_ca
listener.name.controller.ssl.client.auth=required
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:broker;User:CN=kafka-broker
allow.everyone.if.no.acl.found=false
log.dirs=$data
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
message.max.bytes=33554432
replica.fetch.max.bytes=33554432
log.retention.ms=-1
log.retention.bytes=1073741824
EOF

cat >"$conf/admin.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$(jaas admin)
ssl.truststore.type=PEM
ssl.truststore.location=$run/kafka_ca
EOF

if [ ! -f "$data/meta.properties" ]; then
  scram=()
  for user in $SECURE_USERS broker; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(password "$user")]")
  done
  say "formatting $data (cluster $CLUSTER_ID) with the SCRAM users"
  "$bin/kafka-storage.sh" format -t "$CLUSTER_ID" -c "$conf/server.properties" --ignore-formatted "${scram[@]}"
fi

rm -f "$conf/ready"
"$bin/kafka-server-start.sh" "$conf/server.properties" &
broker=$!
trap 'kill -TERM "$broker" 2>/dev/null; wait "$broker"' TERM INT

pascal() {  # DESCRIBE_CONFIGS -> DescribeConfigs, as kafka-acls names operations
  local part out=""
  for part in ${1//_/ }; do part="${part,,}"; out+="${part^}"; done
  echo "$out"
}
admin() { "$@" --bootstrap-server "$internal" --command-config "$conf/admin.properties"; }
until admin "$bin/kafka-topics.sh" --list >/dev/null 2>&1; do
  kill -0 "$broker" 2>/dev/null || { wait "$broker"; exit 1; }
  sleep 2
done

# The passwords in ./secrets win: a user whose password was rotated since the format gets it again.
for user in $SECURE_USERS; do
  admin "$bin/kafka-configs.sh" --alter --entity-type users --entity-name "$user" \
    --add-config "SCRAM-SHA-512=[iterations=8192,password=$(password "$user")]" >/dev/null
done

acl_lines | while read -r principal type pattern name operations; do
  resource=(--topic "$name")
  [ "$type" = GROUP ] && resource=(--group "$name")
  ops=()
  for op in ${operations//,/ }; do ops+=(--operation "$(pascal "$op")"); done
  admin "$bin/kafka-acls.sh" --add --allow-principal "$principal" "${ops[@]}" "${resource[@]}" \
    --resource-pattern-type "$(echo "$pattern" | tr '[:upper:]' '[:lower:]')" >/dev/null
done
touch "$conf/ready"
say "ACLs in place (acls.sh); broker ready"
wait "$broker"
