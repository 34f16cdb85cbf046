"""Redaction canaries: secrets in locals, dict keys, attributes and return values.

Every secret value below is built at run time and contains "canary"; none of them may
appear in a recording. Values whose names do not match the redaction pattern stay
visible (username, pass_count), and "author" matches by substring ("auth").
"""
# e2e-canaries: canary
import os


def secret_value(tag):
    # The name "secret_value" matches: the return value is redacted. The parameter
    # "tag" does not, so callers pass only harmless tags.
    return "-".join(["canary", tag, "0451"])


def make_api_key(prefix):
    return prefix + ":" + secret_value("api")


class Client:
    api_key = secret_value("class-attr")
    retries = 3

    def __init__(self, user, secret):
        self.user = user
        self.secret = secret
        self.auth_header = "Bearer " + secret
        self.timeout = 30

    def connect(self, password):
        pass_count = len(password)
        session_token = secret_value("session")
        return pass_count, len(session_token)


def login(username, password, **options):
    pwd = password
    db_password = secret_value("db")
    session_token = secret_value("token")
    Cookie = {"sid": secret_value("cookie")}
    private_key = secret_value("pk")
    author = "ann"
    config = {
        "user": username,
        "password": password,
        "nested": {"API_KEY": secret_value("nested"), "level": 2,
                   "more": [{"session_id": secret_value("deep")}]},
        "tokens": [{"refresh_token": secret_value("refresh")}],
    }
    client = Client(username, secret_value("client"))
    counts = client.connect(password)
    return username, len(pwd) + len(db_password) + len(session_token) + len(Cookie) \
        + len(private_key) + len(author) + len(config) + counts[0] + len(options)


def check_credentials(credentials):
    # The dict keys match, so the values are redacted inside the exception too.
    raise ValueError({"password": credentials["password"], "user": credentials["user"]})


def environment(tag):
    # An environment is not recorded: `env` shows none of it. Its own mapping
    # (`data`, as os.environ's _data) has bytes keys, matched as UTF-8 text.
    data = {b"MY_API_TOKEN": secret_value(tag).encode(), b"LANG": b"C.UTF-8",
            b"nested": {b"db_password": secret_value(tag + "-db").encode(), b"port": b"5432"}}
    env = os._Environ(data, os.fsencode, os.fsdecode, os.fsencode, os.fsdecode)
    names = sorted(env)
    return len(names)


def main():
    api_key = make_api_key("svc")
    print("variables", environment("environ"))
    password = secret_value("password")
    print(login("ann", password, token_ttl=secret_value("kw"), mode="fast"))
    try:
        check_credentials({"user": "ann", "password": secret_value("exc")})
    except ValueError:
        print("bad credentials")
    print("key length", len(api_key))


API_KEY = secret_value("module")
SESSION = {"cookie_jar": [secret_value("jar")], "visits": 3}
main()
