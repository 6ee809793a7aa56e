# The seed's `cellmgr cell create` line (sourced by tools/quickstart; $cellmgr is set there).
"${cellmgr[@]}" cell create mysite-edge-httpd --autostart YES --profile medium \
  --reserved-ports 8080 --log-facility local1 --stdout-level info --stderr-level err \
  --log-tag cell-mysite-edge-httpd --cmd 'busybox httpd -f -p 8080 -h /var/www/mysite-edge-httpd' \
  --healthcheck 'test -f /var/www/mysite-edge-httpd/index.html' --scope desired
