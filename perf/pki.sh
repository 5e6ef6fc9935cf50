#!/usr/bin/env bash
# Makes a throwaway CA and a localhost certificate in perf/out/pki (once) for the TLS benchmarks.
# Sourced by perf/run-wire.sh and perf/t2t.sh; sets PKI.
PKI=perf/out/pki
mkdir -p "$PKI"
if [ ! -f "$PKI/server.pem" ]; then
  (cd "$PKI" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 30 \
      -subj "/CN=Needletail perf CA" 2>/dev/null &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr \
      -subj "/CN=localhost" 2>/dev/null &&
    echo "subjectAltName=DNS:localhost,IP:127.0.0.1" >san.ext &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 30 \
      -extfile san.ext 2>/dev/null)
fi
