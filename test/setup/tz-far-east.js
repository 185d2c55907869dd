// Date logic must not depend on the machine's time zone: these runs repeat the date-sensitive tests far from London.
process.env.TZ = 'Pacific/Kiritimati';
