// The privacy officer's flow, after choosing a role whose work is the alerts (RoleView's
// `privacyOfficer`): the open alerts, filters, an alert with the user's accesses around it,
// its review, and "Who has viewed this record". `fresh()` is main.ts's guard: it returns a
// check that is false once the session that asked has ended, so a late answer is dropped.
import { api, asAppError } from "./ipc";
import type { AlertFilter, AlertView, TrailEntryView } from "./generated/types";
import type { AppError } from "./errors";
import { h, show } from "./dom";
import { alertDetailScreen, alertsScreen, OPEN_ALERTS } from "./screens/alerts";
import { trailScreen } from "./screens/trail";

export type Fresh = () => () => boolean;

export function officerHome(fresh: Fresh): void {
  let filter: AlertFilter = OPEN_ALERTS;
  /** The accesses around the alert on screen, kept for showing it again after a refusal. */
  let around: TrailEntryView[] | AppError | undefined;

  const listActions = {
    filter: (f: AlertFilter) => void showAlerts(f),
    open: (a: AlertView) => void openAlert(a),
    whoHasViewed: () => trailScreen({}, trailActions),
  };
  const trailActions = {
    search: (nhs: string) => void showTrail(nhs),
    back: () => void showAlerts(filter),
  };

  async function showAlerts(f: AlertFilter, notice?: string): Promise<void> {
    filter = f;
    const current = fresh();
    show(h("h1", {}, "Alerts"), h("p", { role: "status" }, "Reading the alerts…"));
    try {
      const alerts = await api.listAlerts(f);
      if (!current()) return;
      alertsScreen({ filter: f, alerts, notice }, listActions);
    } catch (e) {
      if (!current()) return;
      alertsScreen({ filter: f, error: asAppError(e) }, listActions);
    }
  }

  async function openAlert(alert: AlertView): Promise<void> {
    const current = fresh();
    const detailActions = {
      review: (a: AlertView, note: string) => void review(a, note),
      back: () => void showAlerts(filter),
    };
    around = undefined;
    alertDetailScreen({ alert }, detailActions);
    const who = alert.entry.userId;
    try {
      const found = who ? await api.trailAround(who, alert.entry.at) : [];
      if (!current()) return;
      around = found;
    } catch (e) {
      if (!current()) return;
      around = asAppError(e);
    }
    alertDetailScreen({ alert, around }, detailActions);
  }

  async function review(alert: AlertView, note: string): Promise<void> {
    const current = fresh();
    try {
      await api.reviewAlert(alert.entry.id, note);
      if (!current()) return;
      await showAlerts(filter, "The alert was marked as reviewed.");
    } catch (e) {
      if (!current()) return;
      const err = asAppError(e);
      // Reviewed meanwhile (by another officer, say): the list shows where it is now.
      if (err.code === "ALERT_ALREADY_REVIEWED" || err.code === "ALERT_NOT_FOUND") {
        await showAlerts(filter, err.message);
        return;
      }
      alertDetailScreen(
        { alert, around, error: err },
        { review: (a, n) => void review(a, n), back: () => void showAlerts(filter) },
      );
    }
  }

  async function showTrail(nhs: string): Promise<void> {
    const current = fresh();
    try {
      const entries = await api.trailForPatient(nhs);
      if (!current()) return;
      trailScreen({ nhsNumber: nhs, entries }, trailActions);
    } catch (e) {
      if (!current()) return;
      trailScreen({ nhsNumber: nhs, error: asAppError(e) }, trailActions);
    }
  }

  void showAlerts(OPEN_ALERTS);
}
