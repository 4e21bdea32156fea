"""Configuration and shared mutable state of one emulator process.

Request handler threads share one EmulatorState; every method that touches
counters, tokens or scripts takes the lock.
"""

import collections
import secrets
import threading
import time

DEFAULT_ACCESS_KEY = "HWAIEMULATORAK000001"
DEFAULT_SECRET_KEY = "hwai-emulator-sk-0123456789abcdef"
DEFAULT_SECURITY_TOKEN = "hwai-emulator-security-token"
DEFAULT_PROJECT_ID = "0123456789abcdef0123456789abcdef"
DEFAULT_API_KEY = "hwai-emulator-api-key"
DEFAULT_IAM_USER = "hwai-user"
DEFAULT_IAM_PASSWORD = "hwai-password"
DEFAULT_IAM_DOMAIN = "hwai-domain"
DEFAULT_TOKEN_LIFETIME_S = 3600
DEFAULT_STREAM_DELAY_MS = 0

# Route names used by stats and scripts.
ROUTE_CHAT = "chat"
ROUTE_SENTIMENT = "sentiment"
ROUTE_IAM_TOKEN = "iam_token"
ROUTE_IAM_PROJECTS = "iam_projects"
ROUTE_ECHO = "echo"
ROUTE_UNKNOWN = "unknown"
ROUTE_ANY = "any"
SERVICE_ROUTES = (ROUTE_CHAT, ROUTE_SENTIMENT, ROUTE_IAM_TOKEN, ROUTE_IAM_PROJECTS, ROUTE_ECHO, ROUTE_UNKNOWN)
SCRIPT_ROUTES = (ROUTE_CHAT, ROUTE_SENTIMENT, ROUTE_IAM_TOKEN, ROUTE_IAM_PROJECTS, ROUTE_ECHO, ROUTE_ANY)


class Config:
    """Settings fixed at start-up from the command line."""

    def __init__(
        self,
        access_key=DEFAULT_ACCESS_KEY,
        secret_key=DEFAULT_SECRET_KEY,
        security_token=DEFAULT_SECURITY_TOKEN,
        project_id=DEFAULT_PROJECT_ID,
        api_key=DEFAULT_API_KEY,
        pangu_api_key=None,
        stream_delay_ms=DEFAULT_STREAM_DELAY_MS,
        token_lifetime_s=DEFAULT_TOKEN_LIFETIME_S,
        iam_user=DEFAULT_IAM_USER,
        iam_password=DEFAULT_IAM_PASSWORD,
        iam_domain=DEFAULT_IAM_DOMAIN,
        region_projects=None,
        send_100_continue=True,
    ):
        self.access_key = access_key
        self.secret_key = secret_key
        self.security_token = security_token
        self.project_id = project_id
        self.api_key = api_key
        # API key accepted as a Bearer token on the Pangu routes, or None to accept none there.
        self.pangu_api_key = pangu_api_key
        self.stream_delay_ms = stream_delay_ms
        self.token_lifetime_s = token_lifetime_s
        self.iam_user = iam_user
        self.iam_password = iam_password
        self.iam_domain = iam_domain
        # Region name -> list of (project id, project name) pairs. A region
        # missing here maps to the single project (project_id, region).
        self.region_projects = dict(region_projects or {})
        self.send_100_continue = send_100_continue

    def projects_for_region(self, region):
        """Return the (id, name) pairs that an IAM project lookup by region name returns."""
        if region in self.region_projects:
            return list(self.region_projects[region])
        return [(self.project_id, region)]

    def all_projects(self):
        """Return the (id, name) pairs of an IAM project list without a name filter."""
        projects = []
        for entries in self.region_projects.values():
            projects.extend(entries)
        if all(project_id != self.project_id for project_id, _ in projects):
            projects.insert(0, (self.project_id, "default"))
        return projects

    def known_project_ids(self):
        """Return every project id that service paths accept."""
        return {project_id for project_id, _ in self.all_projects()}

    def secret_keys(self):
        return {self.access_key: self.secret_key}


class IssuedToken:
    """An IAM token issued by this emulator."""

    def __init__(self, value, issued_at, expires_at, user, project, domain):
        self.value = value
        self.issued_at = issued_at
        self.expires_at = expires_at
        self.user = user
        self.project = project
        self.domain = domain


def new_request_id():
    return secrets.token_hex(16)


class EmulatorState:
    """Counters, issued tokens, queued fault scripts and the clock offset."""

    def __init__(self, config):
        self.config = config
        self._lock = threading.Lock()
        self._tokens = {}
        self.clock_offset_s = 0.0
        self.last_auth_failure = None
        # Incremented by reset(), so connections kept open across a reset count again.
        self.generation = 0
        self._reset_counters()
        self._scripts = {route: collections.deque() for route in SCRIPT_ROUTES}

    def _reset_counters(self):
        self.connections = 0
        self.tcp_accepted = 0
        self.requests = 0
        self.by_route = {route: 0 for route in SERVICE_ROUTES}
        self.auth_failures = 0
        self.expect_100_continue = 0
        self.chunked_requests = 0

    def now(self):
        """Return the server clock in epoch seconds, shifted by the control-endpoint offset."""
        return time.time() + self.clock_offset_s

    # Counters

    def count_tcp_accept(self):
        with self._lock:
            self.tcp_accepted += 1

    def count_service_connection(self, counted_generation):
        """Count a connection at its first service request since the last reset.

        Returns the generation to store with the connection; pass it back on
        the next request so each connection is counted once per generation.
        """
        with self._lock:
            if counted_generation != self.generation:
                self.connections += 1
            return self.generation

    def count_request(self, route, expect_100=False, chunked=False):
        with self._lock:
            self.requests += 1
            self.by_route[route] = self.by_route.get(route, 0) + 1
            if expect_100:
                self.expect_100_continue += 1
            if chunked:
                self.chunked_requests += 1

    def count_auth_failure(self, failure_record):
        with self._lock:
            self.auth_failures += 1
            self.last_auth_failure = failure_record

    def stats(self):
        with self._lock:
            return {
                "connections": self.connections,
                "tcp_accepted": self.tcp_accepted,
                "requests": self.requests,
                "by_route": dict(self.by_route),
                "auth_failures": self.auth_failures,
                "expect_100_continue": self.expect_100_continue,
                "chunked_requests": self.chunked_requests,
                "scripts_pending": {route: len(queue) for route, queue in self._scripts.items()},
                "tokens_issued": len(self._tokens),
                "clock_offset_s": self.clock_offset_s,
            }

    def reset(self):
        """Zero the counters, drop queued scripts and the clock offset; issued tokens stay valid."""
        with self._lock:
            self._reset_counters()
            self.generation += 1
            for queue in self._scripts.values():
                queue.clear()
            self.clock_offset_s = 0.0
            self.last_auth_failure = None

    # Scripts

    def queue_script(self, route, responses):
        with self._lock:
            self._scripts[route].extend(responses)
            return len(self._scripts[route])

    def next_script(self, route):
        """Pop the next scripted response for a route, falling back to the "any" queue."""
        with self._lock:
            queue = self._scripts.get(route)
            if queue:
                return queue.popleft()
            if self._scripts[ROUTE_ANY]:
                return self._scripts[ROUTE_ANY].popleft()
            return None

    # Tokens

    def issue_token(self, user, project, domain):
        issued_at = self.now()
        token = IssuedToken(
            value="MIIhwai" + secrets.token_urlsafe(96),
            issued_at=issued_at,
            expires_at=issued_at + self.config.token_lifetime_s,
            user=user,
            project=project,
            domain=domain,
        )
        with self._lock:
            self._tokens[token.value] = token
        return token

    def find_token(self, value):
        """Return the IssuedToken for a header value, or None when it is unknown."""
        with self._lock:
            return self._tokens.get(value)

    def revoke_tokens(self):
        """Forget every issued token, so that each one is rejected as if expired; return how many."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
            return count
