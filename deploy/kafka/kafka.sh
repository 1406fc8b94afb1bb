#!/usr/bin/env bash
# Runs a real single-node Apache Kafka (KRaft, broker+controller) on 127.0.0.1 without Docker.
#
#   deploy/kafka/kafka.sh install   resolve the broker jars from Maven Central into the cache
#   deploy/kafka/kafka.sh libs      install, then print KAFKA_VERSION=<version> and KAFKA_LIBS=<folder>
#   deploy/kafka/kafka.sh start     install, format storage if needed, start, wait for metadata;
#                                   the LAST line printed is KAFKA_BOOTSTRAP=127.0.0.1:<port>
#   deploy/kafka/kafka.sh stop      stop the broker started from $KAFKA_DATA; no process is left
#   deploy/kafka/kafka.sh status    print up/down (exit 0 when up, 3 when down)
#   deploy/kafka/kafka.sh logs      follow the broker log
#   deploy/kafka/kafka.sh secrets DIR   write a CA, a broker certificate and user passwords into DIR
#   deploy/kafka/kafka.sh rotate USER   secure mode: a new password for USER, set on the running broker
#                                       and written to $KAFKA_DATA/secrets/USER.password
#   deploy/kafka/kafka.sh acls < LINES  secure mode: add ACLs as admin (one per line, format in acls.sh)
#
# Environment (defaults in brackets):
#   KAFKA_PORT [9092]   KAFKA_CONTROLLER_PORT [KAFKA_PORT+1]   KAFKA_DATA [<repo>/.kafka]
#   KAFKA_VERSION [4.1.1]   KAFKA_LIBS [~/.cache/iran2009/kafka-<version>]
#   KAFKA_HEAP_OPTS [-Xms256m -Xmx1g]   KAFKA_START_TIMEOUT [120] seconds
#   KAFKA_SECURITY [plaintext]  sasl_ssl: TLS + SCRAM-SHA-512 users replay, worker, viewer, admin and
#       their ACLs (acls.sh; topic names from POSTS_TOPIC ... PIPELINE_APP_ID); secrets in
#       $KAFKA_DATA/secrets. start then also prints KAFKA_SECURITY=, KAFKA_CA= and KAFKA_SECRETS= lines.
#       A data directory keeps the mode it was formatted in.
#   KAFKA_PLAINTEXT_PORT [none]  secure mode: an extra PLAINTEXT listener on 127.0.0.1 whose anonymous
#       principal has no ACLs until some are added (the bench compares TLS with plaintext on one broker)
#   KAFKA_TLS_HOSTS [none]  more DNS names for the broker certificate (it has 127.0.0.1, localhost, kafka)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=acls.sh
. "$here/acls.sh"

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_DATA="${KAFKA_DATA:-$repo/.kafka}"
KAFKA_LIBS="${KAFKA_LIBS:-${XDG_CACHE_HOME:-$HOME/.cache}/iran2009/kafka-$KAFKA_VERSION}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
KAFKA_SECURITY="${KAFKA_SECURITY:-plaintext}"
KAFKA_SECURITY="${KAFKA_SECURITY,,}"  # no tr: the script runs as far as require() with a bare PATH
KAFKA_PLAINTEXT_PORT="${KAFKA_PLAINTEXT_PORT:-}"

pid_file="$KAFKA_DATA/kafka.pid"
config="$KAFKA_DATA/server.properties"
log_dir="$KAFKA_DATA/logs"
bootstrap="127.0.0.1:$KAFKA_PORT"
secrets="$KAFKA_DATA/secrets"
admin_config="$secrets/admin.properties"
mode_file="$KAFKA_DATA/security"

say() { echo "kafka.sh: $*" >&2; }
die() { say "$*"; exit 1; }

case "$KAFKA_SECURITY" in
  plaintext | sasl_ssl) ;;
  *) echo "kafka.sh: KAFKA_SECURITY=$KAFKA_SECURITY: use plaintext or sasl_ssl" >&2; exit 2 ;;
esac
secure() { [ "$KAFKA_SECURITY" = sasl_ssl ]; }

require() {
  command -v java >/dev/null 2>&1 ||
    die "java not found: install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless)"
  command -v mvn >/dev/null 2>&1 ||
    die "mvn not found: install Maven (Debian: apt-get install maven)"
}

install_jars() {
  require
  [ -f "$KAFKA_LIBS/.complete" ] && return 0
  mkdir -p "$(dirname "$KAFKA_LIBS")"
  # Two parallel starts (say, two test sessions) must not interleave their copies.
  exec 9>"$KAFKA_LIBS.lock"
  flock 9
  if [ ! -f "$KAFKA_LIBS/.complete" ]; then
    say "resolving Apache Kafka $KAFKA_VERSION from Maven Central into $KAFKA_LIBS ..."
    local staging="$KAFKA_LIBS.staging.$$"
    rm -rf "$staging"
    if ! mvn -B -q -Dstyle.color=never -f "$here/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging" >&2; then
      rm -rf "$staging"
      die "could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION with Maven (see the error above)"
    fi
    rm -rf "$KAFKA_LIBS"
    mv "$staging" "$KAFKA_LIBS"
    touch "$KAFKA_LIBS/.complete"
  fi
  flock -u 9
}

classpath() { echo "$KAFKA_LIBS/*"; }

# The pid in $pid_file, if it is a live broker started with our config.
running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "kafka.Kafka $config" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

probe() {  # $1 = timeout seconds; succeeds once the broker answers a metadata request
  local client=()
  secure && client=("$admin_config")
  java -Dlog4j2.level=OFF -cp "$(classpath)" "$here/BrokerProbe.java" "$bootstrap" "$1" "${client[@]}" >/dev/null
}

# A CA, the broker's certificate signed by it (PEM: key + chain, as Kafka's PEM key store reads it) and a
# random password per user, in $1: the folder 0700, every file 0600. What is there already is kept.
make_secrets() {
  local dir="$1" user
  command -v openssl >/dev/null 2>&1 || die "openssl not found: install it (Debian: apt-get install openssl)"
  mkdir -p "$dir"
  chmod 700 "$dir"
  (
    umask 077
    cd "$dir"
    if [ ! -f ca.pem ] || [ ! -f ca.key ]; then
      openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 825 -keyout ca.key -out ca.pem \
        -subj "/CN=iran2009-stream Kafka CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null || die "openssl could not create the CA in $dir"
      rm -f broker.pem
    fi
    if [ ! -f broker.pem ]; then
      local names="IP:127.0.0.1,DNS:localhost,DNS:kafka" host
      for host in $(echo "${KAFKA_TLS_HOSTS:-}" | tr ',' ' '); do names="$names,DNS:$host"; done
      openssl req -newkey rsa:3072 -sha256 -nodes -keyout broker.key -out broker.csr \
        -subj "/CN=kafka-broker" 2>/dev/null || die "openssl could not create the broker key in $dir"
      printf '%s\n' "subjectAltName=$names" "basicConstraints=CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth,clientAuth" \
        "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid,issuer" >broker.ext
      openssl x509 -req -sha256 -days 825 -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -extfile broker.ext -out broker.crt 2>/dev/null || die "openssl could not sign the broker certificate"
      cat broker.key broker.crt ca.pem >broker.pem
      rm -f broker.key broker.csr broker.ext broker.crt ca.srl
    fi
    for user in $SECURE_USERS broker; do
      [ -s "$user.password" ] || openssl rand -hex 24 >"$user.password"
    done
  )
}

password_of() { tr -d '\n' <"$secrets/$1.password"; }

jaas() {  # $1 user, $2 password
  echo "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$1\" password=\"$2\";"
}

write_admin_config() {  # the admin's client settings for the Java tools (0600: it holds the password)
  (
    umask 077
    echo "bootstrap.servers=$bootstrap"
    echo "security.protocol=SASL_SSL"
    echo "sasl.mechanism=SCRAM-SHA-512"
    echo "sasl.jaas.config=$(jaas admin "$(password_of admin)")"
    echo "ssl.truststore.type=PEM"
    echo "ssl.truststore.location=$secrets/ca.pem"
  ) >"$admin_config.tmp"
  chmod 600 "$admin_config.tmp"
  mv "$admin_config.tmp" "$admin_config"
}

write_config() {
  mkdir -p "$log_dir"
  if ! secure; then
    sed -e "s|@PORT@|$KAFKA_PORT|g" \
        -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
        -e "s|@LOG_DIRS@|$KAFKA_DATA/data|g" \
        "$here/server.properties.template" >"$config"
    return 0
  fi
  # Clients: SASL_SSL with SCRAM-SHA-512, between brokers too (as the super user "broker"). The
  # controller listener: TLS with client certificates, on 127.0.0.1 only; the broker connects to it with
  # its own certificate, whose principal (User:CN=kafka-broker) is a super user.
  local listeners="SASL_SSL://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
  local advertised="SASL_SSL://127.0.0.1:$KAFKA_PORT"
  if [ -n "$KAFKA_PLAINTEXT_PORT" ]; then
    listeners="$listeners,PLAINTEXT://127.0.0.1:$KAFKA_PLAINTEXT_PORT"
    advertised="$advertised,PLAINTEXT://127.0.0.1:$KAFKA_PLAINTEXT_PORT"
  fi
  (
    umask 077
    sed -e "s|@PORT@|$KAFKA_PORT|g" \
        -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
        -e "s|@LOG_DIRS@|$KAFKA_DATA/data|g" \
        -e '/^listeners=/d' -e '/^advertised.listeners=/d' -e '/^inter.broker.listener.name=/d' \
        -e '/^listener.security.protocol.map=/d' \
        "$here/server.properties.template"
    echo
    echo "# Secure mode (KAFKA_SECURITY=sasl_ssl), written by kafka.sh; 0600: it holds the broker's password."
    echo "listeners=$listeners"
    echo "advertised.listeners=$advertised"
    echo "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL,PLAINTEXT:PLAINTEXT"
    echo "inter.broker.listener.name=SASL_SSL"
    echo "sasl.enabled.mechanisms=SCRAM-SHA-512"
    echo "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512"
    echo "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$(jaas broker "$(password_of broker)")"
    echo "ssl.keystore.type=PEM"
    echo "ssl.keystore.location=$secrets/broker.pem"
    echo "ssl.truststore.type=PEM"
    echo "ssl.truststore.location=$secrets/ca.pem"
    echo "listener.name.controller.ssl.client.auth=required"
    echo "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    echo "super.users=User:admin;User:broker;User:CN=kafka-broker"
    echo "allow.everyone.if.no.acl.found=false"
  ) >"$config.tmp"
  chmod 600 "$config.tmp"
  mv "$config.tmp" "$config"
}

format_storage() {
  local formatted=plaintext
  [ -f "$mode_file" ] && formatted="$(cat "$mode_file")"
  if [ -f "$KAFKA_DATA/data/meta.properties" ]; then
    [ "$formatted" = "$KAFKA_SECURITY" ] || die "$KAFKA_DATA was formatted for KAFKA_SECURITY=$formatted," \
      "not $KAFKA_SECURITY: use another KAFKA_DATA, or remove that one"
    return 0
  fi
  local cluster_id user scram=()
  cluster_id="$(java -cp "$(classpath)" kafka.tools.StorageTool random-uuid)"
  say "formatting KRaft storage in $KAFKA_DATA/data (cluster $cluster_id, $KAFKA_SECURITY)"
  if secure; then
    # The SCRAM users are in the metadata log before the broker first starts (KIP-900).
    for user in $SECURE_USERS broker; do
      scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(password_of "$user")]")
    done
  fi
  java -Dlog4j2.level=WARN -cp "$(classpath)" kafka.tools.StorageTool format \
    -t "$cluster_id" -c "$config" --ignore-formatted "${scram[@]}" >&2
  echo "$KAFKA_SECURITY" >"$mode_file"
}

secure_admin() {  # SecureAdmin.java as admin: one line on stderr when it fails
  java -Dlog4j2.level=OFF -cp "$(classpath)" "$here/SecureAdmin.java" "$admin_config" "$@"
}

add_acls() {  # ACL lines on stdin
  local out
  out="$(secure_admin acls 2>&1)" || die "could not add the ACLs: $out"
  say "$out"
}

print_client_env() {
  if secure; then
    echo "KAFKA_SECURITY=sasl_ssl"
    echo "KAFKA_CA=$secrets/ca.pem"
    echo "KAFKA_SECRETS=$secrets"
  fi
  echo "KAFKA_BOOTSTRAP=$bootstrap"
}

start() {
  install_jars
  if [ -f "$mode_file" ] && [ "$(cat "$mode_file")" != "$KAFKA_SECURITY" ]; then
    die "$KAFKA_DATA was formatted for KAFKA_SECURITY=$(cat "$mode_file"), not $KAFKA_SECURITY:" \
      "use another KAFKA_DATA, or remove that one"
  fi
  if secure; then
    make_secrets "$secrets"
    write_admin_config
  fi
  if pid="$(running_pid)"; then
    probe 30 || die "broker pid $pid is running but does not answer on $bootstrap; see $log_dir/server.log"
    if secure; then acl_lines | add_acls; fi
    print_client_env
    return 0
  fi
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" $KAFKA_PLAINTEXT_PORT; do
    port_open "$port" && die "port $port is already in use by another process; set KAFKA_PORT to a free port"
  done
  write_config
  format_storage
  local started
  started="$(date +%s)"
  # setsid: the broker outlives the shell that started it, and a Ctrl-C meant for make stays there.
  KAFKA_HEAP_OPTS="$KAFKA_HEAP_OPTS" setsid java $KAFKA_HEAP_OPTS -XX:+UseG1GC \
    -Dkafka.logs.dir="$log_dir" -Dlog4j2.configurationFile="$here/log4j2.yaml" \
    -cp "$(classpath)" kafka.Kafka "$config" >"$log_dir/kafka.out" 2>&1 </dev/null &
  echo $! >"$pid_file"
  say "started broker pid $! on $bootstrap (data in $KAFKA_DATA); waiting for it to answer ..."
  if ! probe "$KAFKA_START_TIMEOUT"; then
    say "broker did not answer within ${KAFKA_START_TIMEOUT}s; last lines of $log_dir/kafka.out:"
    tail -n 20 "$log_dir/kafka.out" >&2 || true
    stop >/dev/null 2>&1 || true
    exit 1
  fi
  say "broker answered after $(( $(date +%s) - started ))s"
  if secure; then
    acl_lines | add_acls
    say "secure mode: users $SECURE_USERS; passwords in $secrets/<user>.password, CA $secrets/ca.pem"
  fi
  print_client_env
}

rotate() {
  local user="${1:-}" fresh out
  secure || die "rotate: set KAFKA_SECURITY=sasl_ssl (the broker of $KAFKA_DATA)"
  case " $SECURE_USERS " in
    *" $user "*) ;;
    *) die "rotate: USER must be one of: $SECURE_USERS" ;;
  esac
  running_pid >/dev/null || die "rotate: the broker of $KAFKA_DATA is not running (start it first)"
  install_jars
  fresh="$(openssl rand -hex 24)"
  out="$(echo "$fresh" | secure_admin scram "$user" 2>&1)" || die "rotate: $out"
  ( umask 077; echo "$fresh" >"$secrets/$user.password.tmp" )
  mv "$secrets/$user.password.tmp" "$secrets/$user.password"
  [ "$user" != admin ] || write_admin_config
  say "new password of $user in $secrets/$user.password: clients that connect from now on need it"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file"
    say "broker is not running (data in $KAFKA_DATA)"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  # A clean shutdown takes a few seconds; after 30 s it is killed so nothing is left behind.
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "broker pid $pid did not stop in 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$pid_file"
  say "broker pid $pid stopped"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "up (pid $pid, $bootstrap, data in $KAFKA_DATA)"
  else
    echo "down (data in $KAFKA_DATA)"
    return 3
  fi
}

case "${1:-}" in
  install) install_jars; say "Kafka $KAFKA_VERSION jars in $KAFKA_LIBS" ;;
  libs) install_jars; printf 'KAFKA_VERSION=%s\nKAFKA_LIBS=%s\n' "$KAFKA_VERSION" "$KAFKA_LIBS" ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  logs) exec tail -F "$log_dir/server.log" ;;
  secrets) [ -n "${2:-}" ] || die "usage: kafka.sh secrets DIR"; make_secrets "$2"; say "secrets in $2" ;;
  rotate) rotate "${2:-}" ;;
  acls)
    secure || die "acls: set KAFKA_SECURITY=sasl_ssl (the broker of $KAFKA_DATA)"
    install_jars
    add_acls
    ;;
  -h | --help | help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
