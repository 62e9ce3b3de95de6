"""The REST API under ``/api/v1``: every dashboard action, with an OpenAPI document."""
