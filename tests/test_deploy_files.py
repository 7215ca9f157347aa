"""deploy/ of a generated project, checked statically (no container engine here): the compose
file against the Compose specification, the Kubernetes manifests against the API's schemas, the
Prometheus configuration and alert rules with promtool, the Grafana provisioning and dashboard."""

import configparser
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import DEFAULT_ANSWERS, debian_tool, rendered

BIN = Path(sys.executable).parent
PACKAGE = DEFAULT_ANSWERS["package_name"]


@pytest.fixture(scope="module")
def deploy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rendered(tmp_path_factory, "deploy") / "deploy"


def run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd)


def promtool() -> str:
    return debian_tool("promtool", package="prometheus")


def test_compose_file_matches_the_compose_specification(deploy: Path) -> None:
    compose = deploy / "compose.yaml"
    result = run(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(compose)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    services = yaml.safe_load(compose.read_text())["services"]
    expected = {
        "postgres",
        "mlflow",
        "prefect-server",
        "worker",
        "service",
        "prometheus",
        "grafana",
    }
    assert expected <= set(services)
    mounted = [
        volume.split(":")[0]
        for service in services.values()
        for volume in service.get("volumes", [])
        if volume.startswith("./")
    ]
    assert mounted, "no configuration file is mounted"
    for source in mounted:
        assert (deploy / source).exists(), f"compose mounts {source}, which is not generated"


def test_compose_publishes_only_the_service_beyond_loopback_and_requires_its_secrets(
    deploy: Path,
) -> None:
    text = (deploy / "compose.yaml").read_text()
    services = yaml.safe_load(text)["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert name == "service" or port.startswith("127.0.0.1:"), f"{name} publishes {port}"
    assert ":-change-me" not in text, "a password with a default"
    required = (
        "POSTGRES_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
        "APP_API_TOKENS",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_FLASK_SERVER_SECRET_KEY",
        "PREFECT_API_AUTH_STRING",
    )
    for variable in required:
        assert f"${{{variable}:?" in text, f"{variable} is not required"
    for name, service in services.items():
        command = " ".join(map(str, service.get("command") or []))
        assert "PASSWORD" not in command, f"a password on {name}'s command line"
        assert service.get("user") not in ("root", "0"), f"{name} runs as root"


def test_mlflow_and_prefect_in_compose_answer_nobody_anonymous(deploy: Path) -> None:
    """MLflow runs its basic-auth app with the mounted users configuration; Prefect's server
    asks for the auth string its clients (the worker, the monitor) send."""
    services = yaml.safe_load((deploy / "compose.yaml").read_text())["services"]
    mlflow = services["mlflow"]
    assert "--app-name=basic-auth" in [str(part) for part in mlflow["command"]]
    config = mlflow["environment"]["MLFLOW_AUTH_CONFIG_PATH"]
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in mlflow["volumes"]}
    assert (deploy / mounted[config]).is_file(), f"{config} is not mounted from deploy/"
    users = configparser.ConfigParser()
    users.read(deploy / mounted[config])
    assert users["mlflow"]["default_permission"] == "READ"
    assert not [key for key in users["mlflow"] if "password" in key], "a password in a file"
    assert services["prefect-server"]["environment"]["PREFECT_SERVER_API_AUTH_STRING"]
    for client in ("worker", "service"):
        assert "MLFLOW_TRACKING_PASSWORD" in services[client]["environment"], client
    assert "PREFECT_API_AUTH_STRING" in services["worker"]["environment"]


def test_every_process_of_the_project_images_starts_with_telemetry_off(deploy: Path) -> None:
    """Their processes run the package's command line, which switches telemetry off, or start
    a tool of the stack through the module that does the same."""
    services = yaml.safe_load((deploy / "compose.yaml").read_text())["services"]
    launcher = ["python", "-m", f"{PACKAGE}.core.process_defaults"]
    own = [name for name, service in services.items() if service["image"].endswith(":local")]
    assert {"mlflow", "prefect-server", "worker", "service"} <= set(own)
    for name in own:
        command = [str(part) for part in services[name].get("command") or []]
        starts = " ".join(command)
        assert (
            not command  # the image's own command: the package's `serve`
            or command[:3] == launcher
            or command[0] == PACKAGE
            or starts.startswith(f"sh -c {PACKAGE} ")
            or f"; do {PACKAGE} " in starts
        ), f"{name} starts {starts} with the tools' telemetry on"
    dockerfile = (deploy.parent / "Dockerfile").read_text()
    assert dockerfile.rstrip().endswith(
        f'CMD ["{PACKAGE}", "serve", "--host", "0.0.0.0", "--port", "3000"]'
    )


def test_kubernetes_manifests_match_the_api_schemas(deploy: Path) -> None:
    manifests = sorted((deploy / "k8s").glob("*.yaml"))
    documents = [doc for path in manifests for doc in yaml.safe_load_all(path.read_text())]
    kinds = {document["kind"] for document in documents}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap"} <= kinds
    result = run(str(BIN / "kubernetes-validate"), "--strict", *map(str, manifests))
    assert result.returncode == 0, result.stdout + result.stderr
    deployments = {
        document["metadata"]["name"]: document
        for document in documents
        if document["kind"] == "Deployment"
    }
    assert set(deployments) == {"customer-churn", "customer-churn-worker"}
    deployment = deployments["customer-churn"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert set(container["resources"]) == {"requests", "limits"}


def test_every_pod_runs_with_least_privilege(deploy: Path) -> None:
    """No API token, a read-only root, no capabilities, not root, the runtime's seccomp
    profile, and a NetworkPolicy that selects it."""
    documents = [
        document
        for path in sorted((deploy / "k8s").glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
    ]
    accounts = {d["metadata"]["name"]: d for d in documents if d["kind"] == "ServiceAccount"}
    policies = [
        d["spec"]["podSelector"]["matchLabels"] for d in documents if d["kind"] == "NetworkPolicy"
    ]
    for deployment in (d for d in documents if d["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]
        name = deployment["metadata"]["name"]
        assert pod["spec"]["automountServiceAccountToken"] is False, name
        assert accounts[pod["spec"]["serviceAccountName"]]["automountServiceAccountToken"] is False
        assert pod["spec"]["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for container in pod["spec"]["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["runAsNonRoot"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
        labels = pod["metadata"]["labels"]
        assert any(selector.items() <= labels.items() for selector in policies), name


CHECKOV = "checkov==3.3.30"
# Checkov's Kubernetes checks that do not apply, and why: every other check must pass.
NOT_APPLICABLE = {
    "CKV_K8S_21": "no namespace in the manifests: CD applies them per environment "
    "(`kubectl -n ml-$ENVIRONMENT`, README: Deployment)",
    "CKV_K8S_35": "settings come from the environment (pydantic-settings, MLflow's client); "
    "the Secret is referenced by name, never written in a manifest",
    "CKV_K8S_43": "the image is a placeholder: CD sets the pushed image with `kubectl set image`",
}


def test_kubernetes_manifests_pass_checkovs_policies(deploy: Path) -> None:
    """Checkov's Kubernetes policies (least privilege, probes, limits, pull policy), all but
    the few that do not apply to manifests CD deploys per environment."""
    result = run(
        "uvx", "--quiet", "--from", CHECKOV, "checkov", "--directory", str(deploy / "k8s"),
        "--framework", "kubernetes", "--skip-download", "--output", "json",
        "--skip-check", ",".join(NOT_APPLICABLE),
    )  # fmt: skip
    assert result.stdout.strip(), result.stderr
    report = json.loads(result.stdout)
    failed = [
        f"{check['check_id']} {check['check_name']}: {check['resource']}"
        for check in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert report["summary"]["passed"] > 100  # the checks ran on every manifest


def test_prometheus_configuration_and_rules_pass_promtool(deploy: Path) -> None:
    result = run(promtool(), "check", "config", str(deploy / "prometheus" / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = {
        rule["alert"]
        for group in yaml.safe_load((deploy / "prometheus" / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    }
    needed = {"PredictionErrors", "PredictionLatencySLO", "DegradedMode", "DataDrift"}
    assert needed | {"InvalidLiveData", "RejectedRequests"} <= alerts


def test_the_alerts_fire_on_their_signals_and_not_without(deploy: Path, tmp_path: Path) -> None:
    """promtool's rule unit tests: series in, the alerts that must (and must not) fire out."""
    rules = yaml.safe_load((deploy / "prometheus" / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations")  # what fires is under test here, not the texts
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules))
    service = 'job="service", instance="service:3000"'
    requests = (
        'bentoml_service_request_total{endpoint="/predict", http_response_code="%s", '
        + service
        + "}"
    )

    def beyond(flagged: str, share: str, refused: str) -> list[dict[str, str]]:
        """Values beyond the observed limits (live and monitored), and refused traffic."""
        return [
            {
                "series": f'model_predictions_total{{version="1", outcome="x", {service}}}',
                "values": "0+100x30",
            },
            {
                "series": f'model_input_out_of_range_total{{feature="f", {service}}}',
                "values": flagged,
            },
            {
                "series": f'{PACKAGE}_monitor_out_of_range_share{{feature="f", job="monitoring"}}',
                "values": share,
            },
            {"series": f'{PACKAGE}_monitor_rejection_rate{{job="monitoring"}}', "values": refused},
        ]

    tests = {
        "rule_files": ["alerts.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f"model_service_degraded{{{service}}}", "values": "1x20"},
                    {"series": f'{PACKAGE}_drift_share{{job="monitoring"}}', "values": "0.75x20"},
                    {"series": requests % "200", "values": "0+100x20"},
                    {"series": requests % "500", "values": "0+5x20"},
                    *beyond("0+30x30", "0.5x20", "0.5x20"),
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "10m",
                        "alertname": "DegradedMode",
                        "exp_alerts": [{"exp_labels": {"severity": "page"}}],
                    },
                    {
                        "eval_time": "10m",
                        "alertname": "DataDrift",
                        "exp_alerts": [{"exp_labels": {"severity": "ticket", "job": "monitoring"}}],
                    },
                    {
                        "eval_time": "10m",
                        "alertname": "PredictionErrors",
                        "exp_alerts": [{"exp_labels": {"severity": "page"}}],
                    },
                    {"eval_time": "2m", "alertname": "DegradedMode", "exp_alerts": []},
                    {
                        "eval_time": "20m",
                        "alertname": "InputsBeyondObservedLimits",
                        "exp_alerts": [{"exp_labels": {"severity": "ticket", "feature": "f"}}],
                    },
                    {
                        "eval_time": "10m",
                        "alertname": "TrafficBeyondObservedLimits",
                        "exp_alerts": [{"exp_labels": {"severity": "ticket", "feature": "f"}}],
                    },
                    {
                        "eval_time": "10m",
                        "alertname": "RefusedTraffic",
                        "exp_alerts": [{"exp_labels": {"severity": "ticket", "job": "monitoring"}}],
                    },
                ],
            },
            {
                "interval": "1m",
                "input_series": [
                    {"series": f"model_service_degraded{{{service}}}", "values": "0x20"},
                    {"series": f'{PACKAGE}_drift_share{{job="monitoring"}}', "values": "0.25x20"},
                    {"series": requests % "200", "values": "0+100x20"},
                    *beyond("0+1x30", "0.01x20", "0x20"),
                ],
                "alert_rule_test": [
                    {"eval_time": "20m", "alertname": name, "exp_alerts": []}
                    for name in (
                        "DegradedMode",
                        "DataDrift",
                        "PredictionErrors",
                        "InputsBeyondObservedLimits",
                        "TrafficBeyondObservedLimits",
                        "RefusedTraffic",
                    )
                ],
            },
        ],
    }
    (tmp_path / "alerts_test.yml").write_text(yaml.safe_dump(tests))
    result = run(promtool(), "test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_provisions_the_datasource_the_dashboard_uses(deploy: Path) -> None:
    grafana = deploy / "grafana"
    [source] = yaml.safe_load(
        (grafana / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    provider = yaml.safe_load(
        (grafana / "provisioning" / "dashboards" / "dashboards.yml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads((grafana / "dashboards" / "service.json").read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert panel["targets"], panel["title"]
        assert all(target["expr"] for target in panel["targets"]), panel["title"]
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for signal in ("latency", "drift", "degraded"):
        assert signal in titles
