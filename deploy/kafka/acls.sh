# The secure broker's users and what each may do; sourced by kafka.sh and compose-kafka.sh.
#
# acl_lines prints one ACL per line, "PRINCIPAL RESOURCE_TYPE PATTERN_TYPE NAME OPERATIONS" (all ALLOW,
# from any host), for the topic names in POSTS_TOPIC, CLASSIFIED_TOPIC, DETECT_TOPIC, PARTS_TOPIC, ALERTS_TOPIC,
# DEAD_LETTER_TOPIC and the worker's app id PIPELINE_APP_ID (the defaults are the pipeline's). With
# allow.everyone.if.no.acl.found=false, anything not listed is refused; admin and the broker itself are
# super users (server.properties).
#   replay  writes the posts topic, and creates it when it is missing (as `replay send --partitions`
#           does); idempotent producing needs no more than WRITE on a topic since Kafka 2.8.
#   worker  reads posts; writes posts.classified, posts.dead-letter; reads and writes posts.detect,
#           posts.detect.parts (DETECT_PARTITIONS > 1) and alerts (its alert-position check reads alerts
#           back); creates all of them; and everything under its app id: its groups <app>, <app>-classify,
#           <app>-detect, <app>-merge, the snapshot topics <app>-detector-state-changelog,
#           <app>-detect-shards-changelog, <app>-detect-merge-changelog and Faust's own internal topics; with EXACTLY_ONCE=1 its
#           transactional ids <app>-classify-<topic>-<partition>.
#   viewer  reads alerts and posts.classified, in consumer groups named viewer-...

SECURE_USERS="replay worker viewer admin"

acl_lines() {
  local posts="${POSTS_TOPIC:-posts}" classified="${CLASSIFIED_TOPIC:-posts.classified}"
  local detect="${DETECT_TOPIC:-posts.detect}" parts="${PARTS_TOPIC:-posts.detect.parts}" alerts="${ALERTS_TOPIC:-alerts}"
  local dead="${DEAD_LETTER_TOPIC:-posts.dead-letter}" app="${PIPELINE_APP_ID:-iran2009-pipeline}"
  echo "User:replay TOPIC LITERAL $posts WRITE,DESCRIBE,CREATE"
  echo "User:worker TOPIC LITERAL $posts READ,DESCRIBE,CREATE,DESCRIBE_CONFIGS"
  echo "User:worker TOPIC LITERAL $classified WRITE,DESCRIBE,CREATE,DESCRIBE_CONFIGS"
  echo "User:worker TOPIC LITERAL $dead WRITE,DESCRIBE,CREATE,DESCRIBE_CONFIGS"
  echo "User:worker TOPIC LITERAL $detect READ,WRITE,DESCRIBE,CREATE,DESCRIBE_CONFIGS"
  echo "User:worker TOPIC LITERAL $parts READ,WRITE,DESCRIBE,CREATE,DESCRIBE_CONFIGS"
  echo "User:worker TOPIC LITERAL $alerts READ,WRITE,DESCRIBE,CREATE,DESCRIBE_CONFIGS"
  echo "User:worker TOPIC PREFIXED $app READ,WRITE,DESCRIBE,CREATE,DESCRIBE_CONFIGS"
  echo "User:worker GROUP PREFIXED $app READ,DESCRIBE"
  echo "User:worker TRANSACTIONAL_ID PREFIXED $app WRITE,DESCRIBE"
  echo "User:viewer TOPIC LITERAL $alerts READ,DESCRIBE"
  echo "User:viewer TOPIC LITERAL $classified READ,DESCRIBE"
  echo "User:viewer GROUP PREFIXED viewer- READ,DESCRIBE"
}
