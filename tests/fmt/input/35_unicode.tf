locals {
  名前 = "サーバー"
  ok = "✓"
  café = "crème"
}
