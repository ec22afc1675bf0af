"""The HTTP API's request and response models, shared by the server and the dashboard's client.

Pure pydantic: no I/O library is imported here, so every component may depend on these models
(the server answers with them, the dashboard parses the answers into them). One module per
resource, named as the server's router for it.
"""
