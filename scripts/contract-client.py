# One stamp, one validate and one lookup through a client generated from /openapi.json by
# openapi-python-client (scripts/contract): the document is enough to talk to the service.
# Usage: contract-client.py BASE_URL API_KEY (the generated package on PYTHONPATH).
import sys
import uuid

from omni_node_bridge_client import AuthenticatedClient
from omni_node_bridge_client.api.lookup import get_stamp
from omni_node_bridge_client.api.stamp import stamp
from omni_node_bridge_client.api.validate import validate
from omni_node_bridge_client.models import (
    ErrorEnvelope,
    StampBody,
    StampDataEnvelope,
    ValidateBody,
    ValidateDataEnvelope,
)

base, key = sys.argv[1], sys.argv[2]
client = AuthenticatedClient(base_url=base, token=key, prefix="", auth_header_name="X-API-Key")
content = f"print('generated client {uuid.uuid4()}')\n"

made = stamp.sync(client=client, body=StampBody(content=content, namespace="contract", file_path="gen/client.py"))
assert isinstance(made, StampDataEnvelope), made
assert made.status.value == "success" and made.data.namespace == "contract", made
assert made.data.signing_key and made.data.log.index >= 0, made

checked = validate.sync(client=client, body=ValidateBody(content=made.data.stamped_content, namespace="contract"))
assert isinstance(checked, ValidateDataEnvelope), checked
assert checked.data.is_valid, checked
assert str(getattr(checked.data.trust, "value", checked.data.trust)) == "TRUSTED", checked

found = get_stamp.sync(made.data.file_hash, client=client, namespace="contract")
assert not isinstance(found, ErrorEnvelope) and found is not None, found
assert found.data["stamp_id"] == made.data.stamp_id, found

missing = get_stamp.sync("0" * 64, client=client, namespace="contract")
assert isinstance(missing, ErrorEnvelope) and missing.error.code == "STAMP_NOT_FOUND", missing
print("generated client: stamp, validate, lookup OK")
