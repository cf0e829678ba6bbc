# Certificates and kubeconfigs for the testbed, sourced by scripts/testbed-up and by
# `scripts/testbed user`. Needs $pki (the CA's folder) and, for kubeconfigs, $server.

openssl_quiet() { openssl "$@" 2>/dev/null; }

# cert NAME SUBJECT [SANS]: a key and a certificate signed by the CA (a serving and client
# certificate with SANS, else a client certificate).
cert() {
  local name=$1 subject=$2 sans=${3:-}
  openssl_quiet req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
    -keyout "$pki/$name.key" -out "$pki/$name.csr"
  local ext=$pki/$name.ext
  if [[ -n $sans ]]; then
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$sans" >"$ext"
  else
    printf 'extendedKeyUsage=clientAuth\n' >"$ext"
  fi
  # A random serial rather than a serial file: tests make users in parallel.
  openssl_quiet x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -set_serial "0x$(openssl rand -hex 12)" -days 30 -extfile "$ext" -out "$pki/$name.crt"
}

# kubeconfig FILE USER CONTEXT: a kubeconfig with the CA and USER's client certificate embedded.
kubeconfig() {
  local file=$1 user=$2 context=$3
  local b64="base64 -w0"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster:
    server: $server
    certificate-authority-data: $($b64 "$pki/ca.crt")
users:
- name: $context
  user:
    client-certificate-data: $($b64 "$pki/$user.crt")
    client-key-data: $($b64 "$pki/$user.key")
contexts:
- name: $context
  context: {cluster: testbed, user: $context}
current-context: $context
EOF
}
