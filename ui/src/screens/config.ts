// First run: the settings are missing or wrong. Says what to fix, and where.
import { h, show } from "../dom";

export function configScreen(problem: string): void {
  show(
    h("h1", {}, "SCR Viewer needs its settings"),
    h("div", { class: "nhsuk-warning-callout", id: "config-error" }, h("h3", { class: "nhsuk-warning-callout__label" }, "Settings problem"), h("p", {}, problem)),
    h(
      "p",
      {},
      "Start the app with --config FILE (or set SCR_CONFIG) naming a TOML file with spine_url (https://…), ca_file (the CA certificate the spine's certificate must chain to) and data_dir. Each can be overridden with SCR_SPINE_URL, SCR_CA_FILE and SCR_DATA_DIR.",
    ),
  );
}
