"""The automations ``ragtune deploy`` creates, as plain Prefect API documents.

Every ragtune event goes to the ``trigger-router`` deployment (one place that
decides, audits and acts), with the event's name, id, time and payload filled in
by the server's templating. A failed flow run sends a notification. Names start
with :data:`PREFIX` so a redeploy replaces exactly these and nothing else.
"""

from __future__ import annotations

from typing import Any

from ragtune import events

PREFIX = "ragtune: "
ROUTED = (
    events.SOURCE_CHANGED,
    events.REGULATORY_UPDATED,
    events.DRIFT_DETECTED,
    events.FORMAT_CHANGED,
)
FLOW_FAILED = "prefect.flow-run.Failed"


def _jinja(template: str) -> dict[str, Any]:
    return {"__prefect_kind": "jinja", "template": template}


def _trigger(event: str, resource: str) -> dict[str, Any]:
    return {
        "type": "event",
        "posture": "Reactive",
        "expect": [event],
        "match": {"prefect.resource.id": resource},
        "threshold": 1,
        "within": 0,
    }


def router_automation(event: str, router_deployment_id: str) -> dict[str, Any]:
    """Run the trigger router for each ``event``, passing the whole event on."""
    return {
        "name": f"{PREFIX}{event}",
        "description": f"On {event}: the trigger router decides, audits and acts.",
        "enabled": True,
        "trigger": _trigger(event, "ragtune.*"),
        "actions": [
            {
                "type": "run-deployment",
                "source": "selected",
                "deployment_id": router_deployment_id,
                "parameters": {
                    "event_name": _jinja("{{ event.event }}"),
                    "event_id": _jinja("{{ event.id }}"),
                    "occurred": _jinja("{{ event.occurred }}"),
                    "payload": {
                        "__prefect_kind": "json",
                        "value": _jinja("{{ event.payload | tojson }}"),
                    },
                },
            }
        ],
    }


def failure_automation(block_document_id: str) -> dict[str, Any]:
    """Notify through the configured block when any flow run fails."""
    return {
        "name": f"{PREFIX}flow run failed",
        "description": "Any failed flow run: notify the operators.",
        "enabled": True,
        "trigger": _trigger(FLOW_FAILED, "prefect.flow-run.*"),
        "actions": [
            {
                "type": "send-notification",
                "block_document_id": block_document_id,
                "subject": "ragtune: flow run {{ flow_run.name }} failed",
                "body": (
                    "Flow run {{ flow_run.name }} of {{ flow.name }} failed: "
                    "{{ flow_run.state.message }}\n{{ flow_run|ui_url }}"
                ),
            }
        ],
    }


def automation_documents(
    router_deployment_id: str, notify_block_id: str | None
) -> list[dict[str, Any]]:
    """All ragtune automations; the failure one only with a notification block."""
    docs = [router_automation(e, router_deployment_id) for e in ROUTED]
    if notify_block_id:
        docs.append(failure_automation(notify_block_id))
    return docs
