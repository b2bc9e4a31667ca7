resource "openstack_compute_instance_v2" "web" {
  name = "web"
  lifecycle {
    precondition {
      condition     = var.flavor != ""
      error_message = "A flavor is required."
    }
    postcondition {
      condition     = self.access_ip_v4 != ""
      error_message = "The server has no address."
    }
  }
}

check "health" {
  assert {
    condition     = data.http.health.status_code == 200
    error_message = "unhealthy"
  }
}
