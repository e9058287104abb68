#!/bin/sh
# Token initialisation job of deploy/compose.yaml (runs as uid 10001, no network): creates the
# issuance and escrow SoftHSM2 tokens when missing, then runs the key ceremony once.
# softhsm2-util takes PINs only as arguments: this short-lived job, alone in its PID namespace,
# is the one place they appear on a command line.
set -eu
S=/run/secrets
have_token() { softhsm2-util --show-slots 2>/dev/null | grep -Eq "Label:[[:space:]]*$1[[:space:]]*\$"; }
for t in issuance escrow; do
  if ! have_token "realdid-$t"; then
    softhsm2-util --init-token --free --label "realdid-$t" \
      --pin "$(cat "$S/$t-token-pin")" --so-pin "$(cat "$S/$t-token-so-pin")" >/dev/null
    echo "token-init: created token realdid-$t"
  fi
done
if [ -s /var/lib/realdid/keys/keys.json ]; then
  echo "token-init: keys.json present, ceremony already done"
  exit 0
fi
exec /usr/lib/realdid/realdid-ceremony --module /usr/lib/softhsm/libsofthsm2.so \
  --issuance-token realdid-issuance --issuance-pin-file "$S/issuance-token-pin" \
  --escrow-token realdid-escrow --escrow-pin-file "$S/escrow-token-pin" \
  --out /var/lib/realdid/keys
