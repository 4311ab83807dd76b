"""Who is asking and may they: bearer tokens, service-account tokens, RBAC and impersonation.

- Authentication: a client certificate the lab's CA signed (CN the user, O its groups), or
  `Authorization: Bearer <token>`. The lab's token (`LAB_TOKEN`, in every kubeconfig the lab
  writes) is a cluster admin (group system:masters). `Tokens.add(...)` registers more, optionally expiring.
  A Secret of type kubernetes.io/service-account-token gets a token for its ServiceAccount (the legacy token
  controller); the token stops working when the Secret or the account goes. A wrong or expired token gets
  401 Unauthorized; no token at all is system:anonymous, who may only read /version and the health endpoints.
- Authorization: system:masters may do anything; everyone else gets what their RoleBindings and
  ClusterRoleBindings grant (rules with apiGroups, resources incl. `pods/log`, resourceNames and verbs, `*` wildcards),
  plus discovery and self access reviews for any authenticated user, as the default cluster roles give.
- Impersonation (`Impersonate-User`, `Impersonate-Group`): the requester needs the `impersonate` verb on users,
  groups or serviceaccounts; then the request runs as the impersonated user.
Not modelled: aggregated ClusterRoles, non-resource URL rules, certificate revocation.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jeju_lab.kube_double.api_errors import ApiError, forbidden, unauthorized
from jeju_lab.kube_double.patching import clone_obj
from jeju_lab.kube_double.resources import SECRET, SERVICE_ACCOUNT, ResourceType, by_kind

if TYPE_CHECKING:
    from jeju_lab.kube_double.store import Store

Obj = dict[str, Any]
LAB_TOKEN = "jeju-lab-token"  # noqa: S105 - a fixed, public token: the lab API only listens on loopback
SA_TOKEN_TYPE = "kubernetes.io/service-account-token"  # noqa: S105 - a Secret type, not a secret
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SA_UID_ANNOTATION = "kubernetes.io/service-account.uid"
ROLE, ROLE_BINDING = by_kind("Role"), by_kind("RoleBinding")
CLUSTER_ROLE, CLUSTER_ROLE_BINDING = by_kind("ClusterRole"), by_kind("ClusterRoleBinding")
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()

    @property
    def admin(self) -> bool:
        return "system:masters" in self.groups


ADMIN = User("jeju-lab-admin", ("system:masters", "system:authenticated"))
ANONYMOUS = User("system:anonymous", ("system:unauthenticated",))


@dataclass
class _Token:
    user: User
    expires_at: float | None = None
    secret: tuple[str, str] | None = None  # (namespace, name) of the service-account token Secret


@dataclass
class Tokens:
    """The bearer tokens the API accepts."""

    clock: Any
    _tokens: dict[str, _Token] = field(default_factory=dict)

    def add(self, token: str, user: User, *, expires_in: float | None = None) -> None:
        expires = None if expires_in is None else self.clock() + expires_in
        self._tokens[token] = _Token(user, expires)

    def revoke(self, token: str) -> None:
        self._tokens.pop(token, None)

    def add_service_account(self, token: str, namespace: str, account: str, secret: str) -> None:
        user = User(f"system:serviceaccount:{namespace}:{account}",
                    ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"))
        self._tokens[token] = _Token(user, None, (namespace, secret))

    def user_for(self, token: str, store: Store) -> User | None:
        entry = self._tokens.get(token)
        if entry is None or (entry.expires_at is not None and self.clock() >= entry.expires_at):
            return None
        if entry.secret is not None:
            secret = store.peek(SECRET, entry.secret[0], entry.secret[1])
            account = entry.user.name.rsplit(":", 1)[-1]
            if secret is None or store.peek(SERVICE_ACCOUNT, entry.secret[0], account) is None:
                return None
        return entry.user


def user_of_certificate(peer: Any) -> User | None:
    """The user a verified client certificate names: CN the user, each O a group."""
    if not peer:
        return None
    names = [item for rdn in peer.get("subject") or () for item in rdn]
    user = next((value for key, value in names if key == "commonName"), None)
    if user is None:
        return None
    groups = tuple(value for key, value in names if key == "organizationName")
    return User(str(user), (*groups, "system:authenticated"))


def authenticate(tokens: Tokens, store: Store, authorization: str | None, peer: Any = None) -> User:
    """The user behind a verified client certificate or the Authorization header; 401 for an unknown token."""
    from_certificate = user_of_certificate(peer)
    if from_certificate is not None:
        return from_certificate
    if not authorization:
        return ANONYMOUS
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    user = tokens.user_for(token.strip(), store)
    if user is None:
        raise unauthorized()
    return user


# -- RBAC ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """What is asked: the verb, the resource (with its subresource) and where."""

    verb: str
    group: str
    resource: str
    namespace: str | None
    name: str | None = None

    def describe(self, user: User) -> str:
        subject = f'{self.resource} "{self.name}"' if self.name else self.resource
        where = f'in the namespace "{self.namespace}"' if self.namespace else "at the cluster scope"
        return (f'{subject} is forbidden: User "{user.name}" cannot {self.verb} resource "{self.resource}" '
                f'in API group "{self.group}" {where}')


_DEFAULT_RULES = (  # system:discovery, system:basic-user, system:public-info-viewer for system:authenticated
    {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
     "verbs": ["create"]},
)


def _matches(values: list[str] | None, wanted: str) -> bool:
    return bool(values) and ("*" in (values or []) or wanted in (values or []))


def _rule_allows(rule: Obj, request: Request) -> bool:
    if not _matches(rule.get("verbs"), request.verb):
        return False
    if not _matches(rule.get("apiGroups"), request.group):
        return False
    resources = rule.get("resources") or []
    base = request.resource.split("/", 1)[0]
    if not ("*" in resources or request.resource in resources or (
            "/" in request.resource and f"{base}/*" in resources)):
        return False
    names = rule.get("resourceNames") or []
    return not names or (request.name is not None and request.name in names)


def _subject_matches(subject: Obj, user: User, binding_namespace: str | None) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return bool(subject.get("name") == user.name)
    if kind == "Group":
        return subject.get("name") in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return user.name == f"system:serviceaccount:{namespace}:{subject.get('name')}"
    return False


def _role_rules(store: Store, ref: Obj, namespace: str | None) -> list[Obj]:
    if ref.get("kind") == "ClusterRole":
        role = store.peek(CLUSTER_ROLE, None, str(ref.get("name")))
        if role is None and ref.get("name") == "cluster-admin":
            return [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    else:
        role = store.peek(ROLE, namespace, str(ref.get("name")))
    return list((role or {}).get("rules") or [])


def allowed(store: Store, user: User, request: Request) -> bool:
    if user.admin:
        return True
    if "system:authenticated" in user.groups and any(_rule_allows(r, request) for r in _DEFAULT_RULES):
        return True
    bindings: list[tuple[Obj, str | None]] = [(b, None) for b in store.scan(CLUSTER_ROLE_BINDING)]
    if request.namespace:
        bindings += [(b, request.namespace) for b in store.scan(ROLE_BINDING, request.namespace)]
    for binding, namespace in bindings:
        if not any(_subject_matches(s, user, namespace) for s in binding.get("subjects") or []):
            continue
        if any(_rule_allows(rule, request) for rule in _role_rules(store, binding.get("roleRef") or {}, namespace)):
            return True
    return False


def authorize(store: Store, user: User, request: Request) -> None:
    if not allowed(store, user, request):
        raise forbidden(request.describe(user))


def impersonate(store: Store, user: User, headers: Any) -> User:
    """The user a request with Impersonate-* headers runs as (403 unless allowed to impersonate)."""
    wanted = headers.get("Impersonate-User")
    groups = tuple(headers.getall("Impersonate-Group", [])) if hasattr(headers, "getall") else ()
    if not wanted:
        if groups:
            raise forbidden("impersonating groups needs Impersonate-User as well")
        return user
    if wanted.startswith("system:serviceaccount:") and wanted.count(":") == 3:
        _, _, namespace, account = wanted.split(":")
        request = Request("impersonate", "", "serviceaccounts", namespace, account)
        extra: tuple[str, ...] = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")
    else:
        request, extra = Request("impersonate", "", "users", None, wanted), ()
    if not allowed(store, user, request):
        raise forbidden(f'{request.resource} "{wanted}" is forbidden: User "{user.name}" cannot impersonate '
                        f'resource "{request.resource}" in API group "" '
                        + (f'in the namespace "{request.namespace}"' if request.namespace else "at the cluster scope"))
    for group in groups:
        if not allowed(store, user, Request("impersonate", "", "groups", None, group)):
            raise forbidden(f'groups "{group}" is forbidden: User "{user.name}" cannot impersonate resource "groups" '
                            'in API group "" at the cluster scope')
    return User(wanted, (*groups, *extra, "system:authenticated"))


def access_review(store: Store, user: User, review: Obj) -> Obj:
    """A SelfSubjectAccessReview answered for the requesting user."""
    attributes = (review.get("spec") or {}).get("resourceAttributes") or {}
    resource = str(attributes.get("resource", ""))
    if attributes.get("subresource"):
        resource += "/" + str(attributes["subresource"])
    request = Request(str(attributes.get("verb", "")), str(attributes.get("group", "")), resource,
                      attributes.get("namespace"), attributes.get("name"))
    ok = allowed(store, user, request)
    answer = clone_obj(review)
    answer.setdefault("metadata", {})
    answer["status"] = {"allowed": ok} if not ok else {"allowed": True, "reason": (
        "the lab's admin token (system:masters)" if user.admin else "allowed by RBAC")}
    return answer


# -- the legacy service-account token controller ---------------------------------------------------------
def issue_service_account_tokens(store: Store, tokens: Tokens, ca_pem: bytes) -> None:
    """Fill every service-account token Secret (token, ca.crt, namespace) whose account exists."""
    for secret in store.scan(SECRET):
        if secret.get("type") != SA_TOKEN_TYPE or (secret.get("data") or {}).get("token"):
            continue
        meta = secret["metadata"]
        account = (meta.get("annotations") or {}).get(SA_NAME_ANNOTATION)
        sa = store.peek(SERVICE_ACCOUNT, meta.get("namespace"), str(account)) if account else None
        if sa is None:
            continue
        token = "lab-sa-" + secrets.token_urlsafe(24)
        tokens.add_service_account(token, str(meta["namespace"]), str(account), str(meta["name"]))
        filled = clone_obj(secret)
        filled["data"] = {**(secret.get("data") or {}), "token": _b64(token.encode()), "ca.crt": _b64(ca_pem),
                          "namespace": _b64(str(meta["namespace"]).encode())}
        filled["metadata"].setdefault("annotations", {})[SA_UID_ANNOTATION] = sa["metadata"]["uid"]
        filled["metadata"].pop("resourceVersion", None)
        store.update(SECRET, filled)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def request_for(rt: ResourceType, method: str, namespace: str | None, name: str | None, subresource: str | None,
                watching: bool) -> Request:
    """The RBAC request of an API call."""
    if method == "GET":
        verb = "get" if name else ("watch" if watching else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())
    resource = f"{rt.plural}/{subresource}" if subresource else rt.plural
    return Request(verb, rt.group, resource, namespace if rt.namespaced else None, name)


__all__ = ["ADMIN", "ANONYMOUS", "LAB_TOKEN", "PUBLIC_PATHS", "ApiError", "Request", "Tokens", "User",
           "access_review", "allowed", "authenticate", "authorize", "impersonate", "issue_service_account_tokens",
           "request_for"]
