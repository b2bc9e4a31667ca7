variable "port" {
  type    = number
  default = 9090
}

locals {
  motd = file("${path.module}/motd.txt")
  config = templatefile("${path.module}/templates/app.conf.tftpl", {
    name     = "web"
    port     = var.port
    backends = ["10.0.0.1", "10.0.0.2"]
  })
  doc = {
    name    = "web"
    port    = var.port
    tags    = ["a", "b"]
    enabled = true
    ratio   = 0.5
    nothing = null
    html    = "<b>&</b>"
  }
  json    = jsonencode(local.doc)
  decoded = jsondecode("{\"b\":[1,2.5,{\"c\":null}],\"a\":\"x\",\"t\":true}")
  yaml    = yamlencode(local.doc)
  b64     = base64encode(local.motd)
}

resource "terraform_data" "config" {
  input = local.config
}

resource "terraform_data" "checksum" {
  triggers_replace = sha256(local.config)
  input            = md5(local.motd)
}

output "path_module" {
  value = path.module
}

output "motd" {
  value = local.motd
}

output "config" {
  value = terraform_data.config.output
}

output "encoded" {
  value = {
    json      = local.json
    yaml      = local.yaml
    b64       = local.b64
    roundtrip = base64decode(local.b64) == local.motd
    utf8      = base64encode("héllo ✓")
    decoded   = base64decode("c3RhY2tmb3Jt")
    from_json = local.decoded
  }
}

output "hashes" {
  value = {
    sha256 = sha256(local.config)
    md5    = terraform_data.checksum.output
    empty  = md5("")
  }
}
