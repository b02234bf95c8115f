"""Real Open311 clients from PyPI against a running minhu (open311_clients.rs runs this
with the python of scripts/ensure-open311-clients).

    python open311_clients.py BASE_URL API_KEY JURISDICTION SERVICE_CODE

PyPI's `open311` 1.1 posts a request of SERVICE_CODE; `georeport` 0.3.1 lists the
services, reads a service's definition, lists SERVICE_CODE's requests and reads each
back, in JSON and in XML, and asks once with a wrong jurisdiction. What the clients
returned is printed as one JSON document for the Rust test to judge; a client that
raises ends the script with its traceback.
"""

import importlib
import json
import sys

import georeport
import open311
import requests

base, api_key, jurisdiction, service_code = sys.argv[1:5]
endpoint = base + "/open311/v2"
out = {}

# open311 1.1 was written for Python 2 and hands urllib its form as text; Python 3
# wants bytes. Only that is bridged: the URL, the form and the parsing are the client's.
client_module = importlib.import_module("open311.open311")
urlopen = client_module.urlopen
client_module.urlopen = lambda url, data=None: urlopen(
    url, data.encode("utf-8") if isinstance(data, str) else data
)
poster = open311.Open311(
    endpoint=endpoint, api_key=api_key, jurisdiction=jurisdiction, format="json"
)
out["posted"] = poster.post_service_request(
    service_code=service_code,
    lat="28.2011",
    long="112.9652",
    address_string="A3区天顶街道尖山社区",
    description="小区门口停电三天了",
    first_name="三",
    last_name="张",
    phone="13912345678",
)


def as_list(found):
    """xmltodict reads one <request> as a dict and several as a list."""
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


for output_format in ("json", "xml"):
    reader = georeport.GeoReport(
        endpoint, jurisdiction=jurisdiction, output_format=output_format
    )
    services = as_list(reader.get_service_list())
    definition = reader.get_service_definition("sanitation")
    listed = as_list(reader.get_service_requests(service_code=service_code))
    read_back = [
        reader.get_service_request(request["service_request_id"]) for request in listed
    ]
    out[output_format] = {
        "services": services,
        "definition": definition,
        "listed": listed,
        "read_back": read_back,
    }

wrong = georeport.GeoReport(endpoint, jurisdiction="not-" + jurisdiction)
try:
    wrong.get_service_list()
    out["wrong_jurisdiction"] = {"status": 200}
except requests.HTTPError as error:
    out["wrong_jurisdiction"] = {
        "status": error.response.status_code,
        "body": error.response.json(),
    }

json.dump(out, sys.stdout, ensure_ascii=False)
