#!/bin/sh
# server.properties from KAFKA_SERVER_PROPERTIES, the KRaft storage formatted once, then the broker in the
# foreground (SIGTERM stops it cleanly).
set -eu
: "${KAFKA_SERVER_PROPERTIES:?KAFKA_SERVER_PROPERTIES must be set}"
: "${KAFKA_CLUSTER_ID:?KAFKA_CLUSTER_ID must be set}"
props=/var/lib/kafka/server.properties
printf '%s\n' "$KAFKA_SERVER_PROPERTIES" >"$props"
java_opts="-XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Dlog4j2.configurationFile=/opt/kafka/log4j2.xml"
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
    # shellcheck disable=SC2086
    java -Xmx256m $java_opts -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format \
        -t "$KAFKA_CLUSTER_ID" -c "$props"
fi
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} $java_opts -cp '/opt/kafka/libs/*' kafka.Kafka "$props"
