import { render } from "preact";
import { App } from "./app.tsx";
import "./styles.css";

const root = document.getElementById("app") as HTMLElement;
// The page's "Loading the console…" is for before the script runs; render() would keep it.
root.textContent = "";
render(<App />, root);
