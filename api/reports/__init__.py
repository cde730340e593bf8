"""Report builders the API's routes and the CLI share: each reads the store and runs the
analytics for devices already chosen (by the caller's visibility in the API, all of them for
the operator's CLI) and returns the response model, so `--json` prints what the API answers."""
