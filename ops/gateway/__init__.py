"""The local gateway: the local stack's HTTP API and CDN served on 127.0.0.1, as API Gateway and
CloudFront would serve them, with no AWS account and no Docker (docs/local-development.md).

    config.py     what it serves, read from what `make up` applied: the emulator's API Gateway
                  (routes, JWT authorizer, CORS, integrations) and Lambda (handler, timeout,
                  environment), and the handlers' source folders the synthesis recorded
    routing.py    a request's route, as HTTP APIs choose it
    jwt_auth.py   the JWT authorizer, as API Gateway's (PyJWT against the emulator's JWKS)
    cors.py       the HTTP API's CORS: preflights and the headers of actual responses
    payload.py    API Gateway's payload format 2.0: the event, and the function's result mapped
    runner.py     a handler run from its source folder in a child Python process (bootstrap.py)
    cdn.py        the distribution's responses: the bucket's objects with the response headers
                  policy's CORS and security headers
    server.py     the two HTTP servers (API and CDN) in one process; reloads on SIGHUP
    daemon.py     start, reload, stop and find it (never orphaned): what `make up`/`make down`
                  call; `python -m ops.gateway logs` prints the handlers' logs (`make logs`)
"""
