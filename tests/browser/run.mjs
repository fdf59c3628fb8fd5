// Loads the page in headless Chromium (playwright-core, the machine's own browser) and prints
// {"result": <the page's #result>, "console": [...]} as JSON.
//   node tests/browser/run.mjs URL CHROMIUM
import { chromium } from "playwright-core";

const [url, executablePath] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath,
  // No connection beyond the machine: the background services are off (they would be refused).
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const console_ = [];
try {
  const page = await browser.newPage();
  page.on("console", (message) => console_.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => console_.push(`pageerror: ${error}`));
  await page.goto(url);
  await page.waitForSelector("#result[data-done]", { timeout: 60_000 });
  const result = JSON.parse(await page.textContent("#result"));
  process.stdout.write(JSON.stringify({ result, console: console_ }));
} finally {
  await browser.close();
}
