// The demo shop: `dotnet run --project samples/WebShop`, then open the address it prints (the dashboard is at /dashboard).
var app = WebShop.WebShopApp.Create(args);
await app.RunAsync();
