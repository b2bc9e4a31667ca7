locals {
  scripts = [
    <<EOT
echo one
EOT
    ,
    "two",
  ]
  policy = jsonencode({
    Version = "2012-10-17"
  })
  json  = <<JSON
{
  "a": 1
}
JSON
  after = true
}
