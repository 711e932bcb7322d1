#!/bin/sh
# One-shot (temporalio/admin-tools): once the server answers, make sure the namespace exists and
# carries clerk's custom search attributes (the Web UI filters runs by site, stage and kind with them).
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${NAMESPACE:=default}"
# Dial the IPv4 address: some Docker setups also hand out an unreachable IPv6 one for the name.
host=${TEMPORAL_ADDRESS%:*}
port=${TEMPORAL_ADDRESS##*:}
ip=$(getent ahostsv4 "${host}" 2>/dev/null | awk 'NR == 1 { print $1 }' || true)
if [ -n "${ip}" ]; then TEMPORAL_ADDRESS="${ip}:${port}"; fi
export TEMPORAL_ADDRESS

echo "waiting for the Temporal frontend at ${TEMPORAL_ADDRESS}"
attempt=0
until temporal operator cluster health >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  if [ "${attempt}" -ge 60 ]; then echo "Temporal did not become healthy" >&2; exit 1; fi
  sleep 2
done

if temporal operator namespace describe --namespace "${NAMESPACE}" >/dev/null 2>&1; then
  echo "namespace ${NAMESPACE} exists"
else
  temporal operator namespace create --namespace "${NAMESPACE}" --retention 720h
fi

# A new namespace takes a moment to be visible to every service: retry until the create sticks.
for name in ClerkSite ClerkStage ClerkKind; do
  attempt=0
  until temporal operator search-attribute list --namespace "${NAMESPACE}" | grep -qw "${name}"; do
    attempt=$((attempt + 1))
    if [ "${attempt}" -ge 30 ]; then echo "could not register search attribute ${name}" >&2; exit 1; fi
    temporal operator search-attribute create --namespace "${NAMESPACE}" --name "${name}" --type Keyword || sleep 2
  done
  echo "search attribute ${name} (Keyword) registered"
done
