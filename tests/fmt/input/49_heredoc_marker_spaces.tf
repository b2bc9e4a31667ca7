locals {
  a = <<-EOT
    text
  EOT   
bb = 1
}
