"""Vietnamese names, team names, tags and notes for the demo data.

Surname weights follow their rough shares of the population (Nguyễn about four in ten),
so a page of calls looks like a real Vietnamese call center's.
"""

from __future__ import annotations

import random
from itertools import accumulate

SURNAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.4),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.1),
    ("Hoàng", 4.1),
    ("Huỳnh", 3.2),
    ("Phan", 4.5),
    ("Vũ", 3.2),
    ("Võ", 2.5),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
    ("Đinh", 0.6),
    ("Trương", 0.6),
    ("Lâm", 0.4),
    ("Mai", 0.4),
)

MALE_MIDDLE = ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thành", "Công", "Hoàng", "Xuân", "Gia")
FEMALE_MIDDLE = ("Thị", "Ngọc", "Thu", "Thanh", "Minh", "Hồng", "Kim", "Phương", "Bảo", "Khánh")

MALE_GIVEN = (
    "Tiến", "Nam", "Hùng", "Dũng", "Tuấn", "Minh", "Long", "Hải", "Phúc", "Khoa",
    "Quang", "Sơn", "Thắng", "Trung", "Bình", "Hiếu", "Đạt", "Huy", "Vinh", "Khánh",
    "Tài", "Phong", "Lộc", "Thịnh", "Cường", "Kiên", "Nghĩa", "Toàn", "Duy", "An",
)  # fmt: skip
FEMALE_GIVEN = (
    "Hương", "Lan", "Hoa", "Mai", "Linh", "Trang", "Thảo", "Ngọc", "Hằng", "Yến",
    "Nhung", "Phương", "Hà", "Vy", "Trâm", "Quỳnh", "Oanh", "Duyên", "Giang", "Hạnh",
    "Loan", "Thủy", "Huyền", "Nga", "Châu", "Anh", "My", "Uyên", "Diệp", "Tuyết",
)  # fmt: skip

# Businesses among the customers, called on their landlines.
COMPANY_KINDS = ("Công ty TNHH", "Công ty Cổ phần", "Cửa hàng", "Nhà thuốc", "Đại lý")
COMPANY_NAMES = (
    "Minh Phát", "Hòa Bình", "Thành Đạt", "An Khang", "Phú Quý", "Đại Việt",
    "Sao Mai", "Hưng Thịnh", "Tân Tiến", "Bình Minh", "Việt Hưng", "Trường Sơn",
    "Kim Long", "Hồng Phúc", "Nam Á", "Thiên Phú", "Đông Dương", "Hoàng Gia",
    "Ánh Dương", "Phương Nam", "Hải Đăng", "Quốc Thái", "Tường An", "Vạn Lợi",
)  # fmt: skip

# Queues: number, name, and the share of inbound calls each takes.
QUEUES: tuple[tuple[str, float], ...] = (
    ("Chăm sóc khách hàng", 0.5),
    ("Kinh doanh", 0.25),
    ("Hỗ trợ kỹ thuật", 0.15),
    ("Khiếu nại - Bảo hành", 0.1),
)

# The tag catalogue, and which calls each suits: answered, cancelled, or any call.
ANSWERED_TAGS = (
    "hài lòng", "đồng ý", "quan tâm", "khiếu nại", "từ chối", "đã chốt đơn",
    "hỗ trợ kỹ thuật",
)  # fmt: skip
CANCELLED_TAGS = ("gọi lại sau", "không nghe máy", "sai số")
ANY_TAGS = ("VIP", "khách hàng mới")
ALL_TAGS = ANSWERED_TAGS + CANCELLED_TAGS + ANY_TAGS

INBOUND_NOTES = (
    "Khách hàng phàn nàn về hóa đơn tháng {month}",
    "Khách hỏi về chương trình khuyến mãi tháng {month}",
    "Khách cần đổi địa chỉ giao hàng cho đơn #{order}",
    "Đơn hàng #{order} giao chậm, đã xin lỗi khách",
    "Khách báo lỗi không đăng nhập được ứng dụng",
    "Hướng dẫn khách kích hoạt bảo hành sản phẩm",
    "Khách muốn hủy đơn #{order}, đã chuyển bộ phận xử lý",
    "Khách hỏi giờ làm việc của chi nhánh Quận {district}",
    "Khách yêu cầu xuất hóa đơn VAT",
    "Đã giải đáp thắc mắc về phí vận chuyển",
)  # fmt: skip
OUTBOUND_NOTES = (
    "Khách hẹn gọi lại lúc {hour} giờ chiều",
    "Khách quan tâm gói dịch vụ năm, gửi báo giá qua Zalo",
    "Đã chốt đơn #{order}, giao trong tuần",
    "Khách đang bận họp, gọi lại sau",
    "Khách chưa có nhu cầu, chăm sóc lại sau 3 tháng",
    "Xác nhận đơn hàng #{order} thành công",
    "Nhắc khách thanh toán công nợ tháng {month}",
    "Khách đồng ý dùng thử 7 ngày",
)  # fmt: skip
CANCELLED_NOTES = (
    "Khách không nghe máy, gọi lại sau",
    "Thuê bao tạm thời không liên lạc được",
    "Sai số, cần cập nhật lại thông tin khách",
    "Gọi 3 lần không bắt máy",
    "Khách gọi nhỡ ngoài giờ làm việc, cần gọi lại sáng mai",
)  # fmt: skip
LOCAL_NOTES = (
    "Trao đổi nội bộ về ca trực cuối tuần",
    "Chuyển thông tin khách cho bộ phận kỹ thuật",
    "Hỏi trưởng nhóm về chính sách đổi trả",
)  # fmt: skip
AGENT_NOTES = (
    "Khách rất hài lòng với cách xử lý",
    "Cần theo dõi thêm, khách còn băn khoăn về giá",
    "Khách nói nhanh, đã xác nhận lại số điện thoại",
    "Đã gửi email tổng hợp cho khách",
    "Khách yêu cầu gặp quản lý",
    "Đã tạo phiếu hỗ trợ #{order}",
    "Khách hẹn gọi lại lúc {hour} giờ chiều",
)  # fmt: skip

_SURNAME_CUM = tuple(accumulate(w for _, w in SURNAMES))
_SURNAME_NAMES = tuple(s for s, _ in SURNAMES)


def person_name(rng: random.Random) -> str:
    """A full name: surname, middle name, given name ('Trần Văn Tiến', 'Lê Thị Thu Hà')."""
    surname = rng.choices(_SURNAME_NAMES, cum_weights=_SURNAME_CUM)[0]
    female = rng.random() < 0.5
    given = rng.choice(FEMALE_GIVEN if female else MALE_GIVEN)
    middle = rng.choice(FEMALE_MIDDLE if female else MALE_MIDDLE)
    while middle == given:  # no 'Nguyễn Minh Minh'
        middle = rng.choice(FEMALE_MIDDLE if female else MALE_MIDDLE)
    if female and middle != "Thị" and rng.random() < 0.2:
        middle = f"Thị {middle}"  # the four-word form, as in 'Nguyễn Thị Thu Hà'
    return f"{surname} {middle} {given}"


def company_name(rng: random.Random) -> str:
    return f"{rng.choice(COMPANY_KINDS)} {rng.choice(COMPANY_NAMES)}"


def fill(template: str, rng: random.Random) -> str:
    """A note template with its blanks filled in."""
    return template.format(
        month=rng.randint(1, 12),
        order=rng.randint(10_000, 99_999),
        hour=rng.randint(2, 5),
        district=rng.randint(1, 12),
    )
