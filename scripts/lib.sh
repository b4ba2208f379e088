# Shared by the scripts: where things live, and the idempotent set-up. Source it; do not run it.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$REPO/.work
VENV=${ECS_LIFECYCLE_VENV:-$REPO/.venv}
# Ansible finds the collection here: a link to the work tree, so edits are live. It lives outside
# the work tree, because a link inside it back to it sends builds and linters round in circles.
# ansible-test's staged copy lives there too: inside the work tree git would hide it from ansible-test.
SCRATCH=${TMPDIR:-/tmp}/alicloud-ecs-lifecycle-$(printf %s "$REPO" | sha256sum | cut -c1-12)
COLLECTIONS=$SCRATCH/collections

setup() {
    local python=${PYTHON:-python3}
    if [ ! -x "$VENV/bin/python" ]; then
        echo "== creating virtual environment $VENV"
        "$python" -m venv "$VENV"
    fi
    local stamp=$VENV/.alicloud-ecs-lifecycle-requirements
    local want
    want=$(cat "$REPO/requirements.txt" "$REPO/requirements-dev.txt" "$REPO/emulator/pyproject.toml" | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "== installing requirements into $VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -r "$REPO/requirements-dev.txt" -e "$REPO/emulator"
        echo "$want" > "$stamp"
    fi
    mkdir -p "$COLLECTIONS/ansible_collections/alicloud_ecs"
    local link=$COLLECTIONS/ansible_collections/alicloud_ecs/lifecycle
    [ -L "$link" ] || ln -s "$REPO" "$link"
    export PATH=$VENV/bin:$PATH
    export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS
    export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
}
