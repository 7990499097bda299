// Served from the /assets/* behavior: cached for a day, compressed.
document.querySelector("h1").title = "served by openfront";
