// 1. Insert your smartcard: the live reader and card state.
import type { CardStatus } from "../generated/types";
import { h, show } from "../dom";

export function cardScreen(status: CardStatus, notice?: string): void {
  let text: string;
  switch (status.state) {
    case "serviceUnavailable":
      text = "The smartcard service is not running on this computer. Ask IT support to start it (pcscd).";
      break;
    case "noReader":
      text = "No smartcard reader is connected. Connect your reader.";
      break;
    case "noCard":
      text = "The reader is ready. Insert your smartcard.";
      break;
    case "cardPresent":
      text = `Card found in ${status.reader}.`;
      break;
    case "unknownCard":
      text = "This card cannot be used to sign in: it is not an NHS smartcard (no PIV application). Remove it and insert your smartcard.";
      break;
  }
  show(
    h("h1", {}, "Insert your smartcard"),
    notice ? h("div", { class: "nhsuk-inset-text", id: "session-notice" }, h("p", {}, notice)) : null,
    h("p", { id: "card-status", "data-state": status.state, role: "status", "aria-live": "polite" }, text),
  );
}
