# Sourced by ray_start.sh and slurm_train.sbatch: Ray's token authentication, decided the same way on every node.
#
# Ray 2.60 turns token authentication on for `ray start --head` when it finds a token, but a node joining with
# `ray start --address`, `ray status` and `ray job submit` use one only with RAY_AUTH_MODE=token set. So:
#   - RAY_AUTH_MODE set by you wins (token or disabled);
#   - otherwise, if Ray finds a token, RAY_AUTH_MODE=token is exported. Ray looks, in this order, at
#     RAY_AUTH_TOKEN (the token itself), the file named by RAY_AUTH_TOKEN_PATH, then ~/.ray/auth_token.
# The head with RAY_AUTH_MODE=token and no token generates ~/.ray/auth_token (`ray get-auth-token --generate`);
# copy that file to every other node and to the machine you submit from (or point RAY_AUTH_TOKEN_PATH at it).

ray_auth() {  # ray_auth head|worker
  local found=0
  if ray get-auth-token >/dev/null 2>&1; then found=1; fi  # Ray's own lookup, in Ray's order
  if [[ -z "${RAY_AUTH_MODE:-}" && $found == 1 ]]; then export RAY_AUTH_MODE=token; fi
  if [[ "${RAY_AUTH_MODE:-}" != token ]]; then
    echo "ray auth: token authentication off (RAY_AUTH_MODE=${RAY_AUTH_MODE:-unset}, no Ray token found)" >&2
    return 0
  fi
  if [[ $found == 0 ]]; then
    if [[ "$1" != head ]]; then
      echo "ray auth: RAY_AUTH_MODE=token but no Ray token on this node: copy the head's ~/.ray/auth_token here" \
        "(or set RAY_AUTH_TOKEN_PATH)" >&2
      return 2
    fi
    if [[ "${DRY_RUN:-0}" == 1 ]]; then
      echo "ray auth: would generate ~/.ray/auth_token (ray get-auth-token --generate)" >&2
      return 0
    fi
    ray get-auth-token --generate >/dev/null
    echo "ray auth: generated ~/.ray/auth_token: copy it to every other node and to the submitting machine" >&2
  fi
  echo "ray auth: token authentication on (RAY_AUTH_MODE=token)" >&2
}
