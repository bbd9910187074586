// The tenant portal's entry (/portal): the token leaves the address bar before anything renders.
import { render } from "preact";
import { PortalApp } from "./portal/app.tsx";
import { takeToken } from "./portal/token.ts";
import "./styles.css";
import "./portal/portal.css";

const token = takeToken();
const root = document.getElementById("app") as HTMLElement;
root.textContent = "";
render(<PortalApp token={token} />, root);
